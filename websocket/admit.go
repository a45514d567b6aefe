package websocket

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Admission control (Config.Admit): every connection Serve accepts is
// admitted or refused before anything is read from it, and an admitted
// connection's release runs exactly once when it is finally closed,
// whichever path it took:
//   - on an event loop (HTTP request, upgrade, WebSocket): Conn.finish;
//   - handed off to net/http (other requests, TLS, non-Linux): net/http's
//     ConnState reports StateClosed, or the connection is dropped before
//     net/http accepted it;
//   - hijacked from net/http by Upgrade (of any Server): the admission rides
//     on the request's context, Upgrade claims it, and the Conn releases it
//     in finish. A hijack by anyone else releases at once: from then on the
//     connection is the hijacker's and is not counted.

// admission is one admitted connection's release.
type admission struct {
	once    sync.Once
	fn      func()
	claimed atomic.Bool // hijacked by Upgrade: the Conn releases it
}

func (a *admission) release() {
	if a != nil && a.fn != nil {
		a.once.Do(a.fn)
	}
}

// admissionKey is the request-context key of a net/http connection's
// admission.
type admissionKey struct{}

// admit applies Config.Admit to a freshly accepted connection. It returns
// ok false when the connection was refused (and is being answered 429 and
// closed), and a nil admission when there is nothing to release.
func (s *Server) admit(nc net.Conn) (adm *admission, ok bool) {
	if s.cfg.Admit == nil {
		return nil, true
	}
	release, ok := s.cfg.Admit(addrPort(nc.RemoteAddr()).Addr())
	if !ok {
		s.refuse(nc)
		return nil, false
	}
	if release == nil {
		return nil, true
	}
	return &admission{fn: release}, true
}

// handOver gives an accepted connection to net/http, remembering its
// admission until net/http reports it closed or hijacked.
func (s *Server) handOver(cl *chanListener, nc net.Conn, adm *admission) {
	if adm != nil {
		s.mu.Lock()
		s.adms[nc] = adm
		s.mu.Unlock()
	}
	cl.deliver(nc)
}

// takeAdmission forgets and returns nc's admission, if any.
func (s *Server) takeAdmission(nc net.Conn) *admission {
	s.mu.Lock()
	defer s.mu.Unlock()
	adm := s.adms[nc]
	if adm != nil {
		delete(s.adms, nc)
	}
	return adm
}

// connDropped releases a handed-over connection net/http never accepted.
func (s *Server) connDropped(nc net.Conn) { s.takeAdmission(nc).release() }

// connState is net/http's ConnState hook when Config.Admit is set.
func (s *Server) connState(nc net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	adm := s.takeAdmission(nc)
	if adm != nil && (st == http.StateClosed || !adm.claimed.Load()) {
		adm.release()
	}
}

// connContext is net/http's ConnContext hook when Config.Admit is set: it
// puts the connection's admission where Upgrade finds it.
func (s *Server) connContext(ctx context.Context, nc net.Conn) context.Context {
	s.mu.Lock()
	adm := s.adms[nc]
	s.mu.Unlock()
	if adm == nil {
		return ctx
	}
	return context.WithValue(ctx, admissionKey{}, adm)
}

// claimAdmission is called by Upgrade before hijacking r's connection: the
// Conn will release the admission, not net/http.
func claimAdmission(r *http.Request) *admission {
	adm, _ := r.Context().Value(admissionKey{}).(*admission)
	if adm != nil {
		adm.claimed.Store(true)
	}
	return adm
}

const (
	// maxRefusing bounds the refused connections being answered at once;
	// beyond it a refused connection is closed without an answer.
	maxRefusing = 64
	// refuseLinger bounds the time spent answering a refused connection.
	refuseLinger = 2 * time.Second
	// refuseDrain bounds the bytes read from a refused connection.
	refuseDrain = 64 << 10
)

var tooManyRequests = []byte("HTTP/1.1 429 Too Many Requests\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 1\r\n" +
	"Content-Length: 50\r\n" +
	"Connection: close\r\n\r\n" +
	"too many connections from your address; try later\n")

// refuse answers a refused connection with 429 Too Many Requests and closes
// it. It reads the request head first and drains what follows until the
// client closes, so that the client reads the answer instead of a reset;
// both are bounded in bytes and time, and so is the number of connections
// being refused at once.
func (s *Server) refuse(nc net.Conn) {
	if s.refusing.Add(1) > maxRefusing {
		s.refusing.Add(-1)
		_ = nc.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.refusing.Add(-1)
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(refuseLinger))
		buf := make([]byte, 4096)
		var tail []byte // the last bytes read, to find the head's end across reads
		for read := 0; read < refuseDrain; {
			n, err := nc.Read(buf)
			read += n
			tail = append(tail, buf[:n]...)
			if bytes.Contains(tail, []byte("\r\n\r\n")) || err != nil {
				break
			}
			tail = tail[max(0, len(tail)-3):]
		}
		if _, err := nc.Write(tooManyRequests); err != nil {
			return
		}
		closeWrite(nc)
		_, _ = io.CopyN(io.Discard, nc, refuseDrain)
	}()
}

package websocket

import (
	"bytes"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// hsJob is an upgrade request read by an event loop, waiting for a
// handshake worker to run the user's handler.
type hsJob struct {
	c *Conn
	r *http.Request
	h http.Handler
}

func (s *Server) handshakeWorker() {
	defer s.wg.Done()
	for {
		select {
		case j := <-s.hsJobs:
			s.runHandshake(j)
		case <-s.done:
			return
		}
	}
}

// runHandshake runs the handler for an in-loop upgrade request and gives
// the outcome back to the connection's loop.
func (s *Server) runHandshake(j hsJob) {
	lw := &loopRW{c: j.c, header: http.Header{}}
	func() {
		defer func() {
			if v := recover(); v != nil {
				s.cfg.Logger.Error("websocket: panic in upgrade handler", "panic", v)
				if lw.upgraded == nil {
					lw.status = http.StatusInternalServerError
					lw.body.Reset()
				}
			}
		}()
		j.h.ServeHTTP(lw, j.r)
	}()
	j.c.loop.post(func() { j.c.loop.handshakeDone(j.c, lw) })
}

// loopRW is the ResponseWriter an upgrade handler gets under Serve.
// Upgrade recognises it and switches the connection in place; any other
// response is buffered and written with Connection: close.
type loopRW struct {
	c        *Conn
	header   http.Header
	status   int
	body     bytes.Buffer
	upgraded *Conn
}

func (w *loopRW) Header() http.Header { return w.header }

func (w *loopRW) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *loopRW) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(p) > 64<<10 {
		return 0, fmt.Errorf("websocket: response to an upgrade request larger than 64 KiB")
	}
	return w.body.Write(p)
}

// response serialises a non-upgrade answer.
func (w *loopRW) response() []byte {
	st := w.status
	if st == 0 {
		st = http.StatusOK
	}
	var b []byte
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(st), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(st)...)
	b = append(b, "\r\n"...)
	w.header.Del("Content-Length")
	w.header.Del("Connection")
	w.header.Del("Transfer-Encoding")
	var hb bytes.Buffer
	_ = w.header.Write(&hb)
	b = append(b, hb.Bytes()...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(w.body.Len()), 10)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	return append(b, w.body.Bytes()...)
}

// chanListener feeds connections handed off by the event loops (or accepted
// on non-TCP listeners) to a net/http.Server. Connections still queued when
// it is closed are closed (and their admissions released), not leaked.
type chanListener struct {
	log     *slog.Logger
	dropped func(net.Conn) // called for a connection closed before net/http accepted it
	addr    net.Addr
	ch      chan net.Conn
	closed  chan struct{}

	mu   sync.Mutex // orders queueing against Close
	shut bool
}

func newChanListener(addr net.Addr, log *slog.Logger) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn, 4096), closed: make(chan struct{}), log: log}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.shut {
		l.shut = true
		close(l.closed)
	}
	l.drainLocked()
	return nil
}

// drainLocked drops the queued connections.
func (l *chanListener) drainLocked() {
	for {
		select {
		case c := <-l.ch:
			l.drop(c)
		default:
			return
		}
	}
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// deliver queues c for net/http without blocking the caller (an event
// loop). When net/http is behind by more than the queue, a goroutine waits
// up to handoffWait to queue it; only then is the connection dropped, and
// the drop is logged.
func (l *chanListener) deliver(c net.Conn) {
	l.mu.Lock()
	if l.shut {
		l.mu.Unlock()
		l.drop(c)
		return
	}
	select {
	case l.ch <- c:
		l.mu.Unlock()
		return
	default:
	}
	l.mu.Unlock()
	go func() {
		t := time.NewTimer(handoffWait)
		defer t.Stop()
		select {
		case l.ch <- c:
			// Closed meanwhile: Close may have drained before c arrived.
			l.mu.Lock()
			if l.shut {
				l.drainLocked()
			}
			l.mu.Unlock()
		case <-l.closed:
			l.drop(c)
		case <-t.C:
			l.log.Warn("websocket: net/http is not accepting handed-off connections; dropping one", "remote", c.RemoteAddr().String())
			l.drop(c)
		}
	}()
}

func (l *chanListener) drop(c net.Conn) {
	_ = c.Close()
	if l.dropped != nil {
		l.dropped(c)
	}
}

// handoffWait bounds how long a handed-off connection waits for net/http.
const handoffWait = 10 * time.Second

// prefixConn replays bytes the loop read before handing the connection off.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// slogErrorLog routes net/http's internal log lines to slog at debug level.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{l}, "", 0)
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug("http: " + string(bytes.TrimSpace(p)))
	return len(p), nil
}

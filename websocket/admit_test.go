package websocket_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// admitLog is a Config.Admit that records admissions and releases.
type admitLog struct {
	t                  *testing.T
	refuse             atomic.Bool
	admitted, released atomic.Int64
	remotes            sync.Map // netip.Addr seen
}

func (a *admitLog) admit(remote netip.Addr) (func(), bool) {
	a.remotes.Store(remote, true)
	if a.refuse.Load() {
		return nil, false
	}
	a.admitted.Add(1)
	var once atomic.Bool
	return func() {
		if once.Swap(true) {
			a.t.Errorf("release called twice for a connection from %s", remote)
			return
		}
		a.released.Add(1)
	}, true
}

// settled waits until every admitted connection has been released.
func (a *admitLog) settled(what string) {
	a.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.released.Load() != a.admitted.Load() {
		if time.Now().After(deadline) {
			a.t.Fatalf("%s: %d connections admitted, %d released", what, a.admitted.Load(), a.released.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// goListener hides the *net.TCPConn type of its connections, so that Serve
// gives them to net/http and the goroutine driver, as it does with TLS.
type goListener struct{ net.Listener }

type opaqueConn struct{ net.Conn }

func (l goListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return opaqueConn{c}, nil
}

// startAdmitServer serves, with Admit, /echo (Upgrade by the serving
// Server), /other (Upgrade by a second Server, as the binary's endpoints
// do), /hijack (a handler that hijacks the connection itself and holds it
// until release is closed) and /page.
func startAdmitServer(t *testing.T, opaque bool) (*admitLog, string, func()) {
	t.Helper()
	log := &admitLog{t: t}
	srv, err := websocket.NewServer(websocket.Config{Admit: log.admit})
	if err != nil {
		t.Fatal(err)
	}
	other, err := websocket.NewServer(websocket.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if opaque {
		ln = goListener{ln}
	}
	holding := make(chan struct{})
	var stopHolding sync.Once
	unhold := func() { stopHolding.Do(func() { close(holding) }) }
	var held sync.WaitGroup
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { _, _ = srv.Upgrade(w, r, echoHandler) })
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) { _, _ = other.Upgrade(w, r, echoHandler) })
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		nc, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		held.Add(1)
		go func() {
			defer held.Done()
			<-holding
			nc.Close()
		}()
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, mux) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := other.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != websocket.ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		unhold()
		held.Wait()
		if a, r := log.admitted.Load(), log.released.Load(); a != r {
			t.Errorf("after Shutdown: %d connections admitted, %d released", a, r)
		}
	})
	return log, addr, unhold
}

func TestAdmitReleasesOncePerConnection(t *testing.T) {
	for _, opaque := range []bool{false, true} {
		name := "loop"
		if opaque {
			name = "goroutines"
		}
		t.Run(name, func(t *testing.T) {
			log, addr, unhold := startAdmitServer(t, opaque)

			roundTrip(t, "ws://"+addr+"/echo", nil)
			log.settled("WebSocket on the accepting server")
			roundTrip(t, "ws://"+addr+"/other", nil)
			log.settled("WebSocket on another server")

			tr := &http.Transport{}
			resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/page")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			log.settled("plain HTTP with keep-alive")

			// An upgrade request the handler refuses (404).
			r, err := rawRequest(t, addr, "GET /nowhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			if err != nil || r.StatusCode != http.StatusNotFound {
				t.Fatalf("refused upgrade: %v %v", r, err)
			}
			log.settled("refused upgrade")

			// A keep-alive request, then an upgrade on the same connection:
			// net/http hijacks it for Upgrade.
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(nc)
			_, _ = nc.Write([]byte("GET /page HTTP/1.1\r\nHost: x\r\n\r\n"))
			if r, err := http.ReadResponse(br, nil); err != nil || r.StatusCode != 200 {
				t.Fatalf("keep-alive request: %v %v", r, err)
			} else {
				_, _ = io.Copy(io.Discard, r.Body)
			}
			_, _ = nc.Write([]byte("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
			if r, err := http.ReadResponse(br, nil); err != nil || r.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade after a keep-alive request: %v %v", r, err)
			}
			if log.released.Load() != log.admitted.Load()-1 {
				t.Fatalf("upgraded connection released while open: %d admitted, %d released", log.admitted.Load(), log.released.Load())
			}
			nc.Close()
			log.settled("upgrade after a keep-alive request")

			// A foreign hijack releases at once.
			nc, err = net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_, _ = nc.Write([]byte("GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n"))
			log.settled("foreign hijack")
			unhold()

			// A connection that never sends a request, still open at
			// Shutdown: released by Shutdown (checked in Cleanup).
			idle, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
		})
	}
}

func TestAdmitRefusesWith429(t *testing.T) {
	for _, opaque := range []bool{false, true} {
		log, addr, _ := startAdmitServer(t, opaque)
		log.refuse.Store(true)
		for _, req := range []string{
			"GET /page HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			"POST /page HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("x", 20000),
		} {
			r, err := rawRequest(t, addr, req)
			if err != nil {
				t.Fatalf("opaque=%v %q: %v", opaque, req[:10], err)
			}
			body, _ := io.ReadAll(r.Body)
			if r.StatusCode != http.StatusTooManyRequests || !r.Close || !strings.Contains(string(body), "too many connections") {
				t.Fatalf("opaque=%v %q: %d close=%v %q", opaque, req[:10], r.StatusCode, r.Close, body)
			}
		}
		if _, ok := log.remotes.Load(netip.MustParseAddr("127.0.0.1")); !ok {
			t.Fatal("Admit did not see the client's address")
		}
		if log.admitted.Load() != 0 {
			t.Fatalf("refused connections admitted: %d", log.admitted.Load())
		}
	}
}

func TestStatsCount(t *testing.T) {
	srv, addr := startServe(t, websocket.Config{MaxMessageSize: 1000})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"hello", "", "abc"} {
		if err := cc.Write(ctx, websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cc.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st := srv.Stats()
	if st.Open != 1 || st.MessagesIn != 3 || st.BytesIn != 8 || st.MessagesOut != 3 || st.BytesOut != 8 || st.TooLarge != 0 {
		t.Fatalf("after three echoes: %+v", st)
	}
	if err := cc.Write(ctx, websocket.BinaryMessage, make([]byte, 1001)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cc.Read(ctx); err == nil {
		t.Fatal("oversize message not refused")
	}
	if st := srv.Stats(); st.TooLarge != 1 || st.MessagesIn != 3 {
		t.Fatalf("after an oversize message: %+v", st)
	}
}

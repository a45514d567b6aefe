//go:build linux

package websocket

import (
	"bytes"
	"context"
	"fmt"
	"github.com/switchboard/switchboard/websocket/internal/uring"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBroadcastBatches fans many messages out to many connections, so that
// flush passes carry dozens of dirty connections (the io_uring path) and big
// messages force short sends and EPOLLOUT. Every client must receive every
// message, in order. It runs with the ring and with write(2) only, with the
// fan-out on the loop (in the handler) and on a goroutine of its own. From a
// goroutine, the writes race with the loop's sends: they append behind bytes
// in flight, move the buffer to a larger one, mix urgent (WriteMessage) and
// plain (WritePrepared) scheduling, and list connections twice in a pass.
func TestBroadcastBatches(t *testing.T) {
	for _, ring := range []bool{true, false} {
		for _, async := range []bool{false, true} {
			t.Run(fmt.Sprintf("ring=%v/goroutine=%v", ring, async), func(t *testing.T) {
				testBroadcastBatches(t, !ring, async)
			})
		}
	}
}

func testBroadcastBatches(t *testing.T, disableRing, async bool) {
	cfg := Config{disableURing: disableRing, MaxMessageSize: 4 << 20, WriteBufferLimit: 64 << 20}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup // the fan-out goroutine
	defer wg.Wait()
	conns := map[*Conn]bool{}
	h := HandlerFuncs{
		Open:  func(c *Conn) { mu.Lock(); conns[c] = true; mu.Unlock() },
		Close: func(c *Conn, err error) { mu.Lock(); delete(conns, c); mu.Unlock() },
		Message: func(c *Conn, typ MessageType, data []byte) {
			// "go N": broadcast N numbered messages of growing size.
			var n int
			fmt.Sscanf(string(data), "go %d", &n)
			fanout := func() {
				mu.Lock()
				defer mu.Unlock()
				for i := 0; i < n; i++ {
					pm, _ := NewPreparedMessage(BinaryMessage, payload(i))
					for x := range conns {
						if async && i%3 == 1 {
							_ = x.WriteMessage(BinaryMessage, payload(i))
						} else {
							_ = x.WritePrepared(pm)
						}
					}
				}
			}
			if async {
				wg.Add(1)
				go func() { defer wg.Done(); fanout() }()
			} else {
				fanout()
			}
		},
	}
	defer func() { _ = srv.Close() }()
	const clients, msgs = 40, 34
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ccs := serveAndDial(ctx, t, srv, h, clients, func() int { mu.Lock(); defer mu.Unlock(); return len(conns) })
	if err := ccs[0].Write(ctx, TextMessage, []byte(fmt.Sprintf("go %d", msgs))); err != nil {
		t.Fatal(err)
	}
	var rg sync.WaitGroup
	errs := make(chan error, clients)
	for ci, cc := range ccs {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for i := 0; i < msgs; i++ {
				_, data, err := cc.Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("client %d message %d: %v", ci, i, err)
					return
				}
				if !bytes.Equal(data, payload(i)) {
					errs <- fmt.Errorf("client %d message %d: got %d bytes, want %d", ci, i, len(data), len(payload(i)))
					return
				}
			}
		}()
	}
	rg.Wait()
	closeAll(t, errs, ccs, srv)
	var sent uint64
	for _, l := range srv.loops {
		sent += l.ringSent
	}
	if ringWanted := !disableRing && ringAvailable(); ringWanted != (sent > 0) {
		t.Fatalf("sends through io_uring: %d (ring in use: %v)", sent, ringWanted)
	}
	t.Logf("sends through io_uring: %d", sent)
}

// payload i: from 8 bytes up to 256 KiB, content depending on i.
func payload(i int) []byte {
	n := 8 << (i % 16)
	return bytes.Repeat([]byte{byte(i)}, n)
}

// ringAvailable reports whether this kernel lets the loops batch sends.
func ringAvailable() bool {
	r, err := uring.New(8)
	if err != nil {
		return false
	}
	_ = r.Close()
	return true
}

// TestErrorResponsesBatchedClose refuses many upgrade requests at once, so
// that their error responses leave in one flush pass (the io_uring path
// when it is available). Each refused client must get its response and then
// the server's close, even though the client never closes its end.
func TestErrorResponsesBatchedClose(t *testing.T) {
	for _, ring := range []bool{true, false} {
		t.Run(fmt.Sprintf("ring=%v", ring), func(t *testing.T) {
			const n = 16
			srv, err := NewServer(Config{disableURing: !ring, HandshakeWorkers: n})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			// Every handler waits until all n are running, so that their
			// responses reach the loop together.
			var barrier sync.WaitGroup
			barrier.Add(n)
			go func() {
				_ = srv.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					barrier.Done()
					barrier.Wait()
					http.Error(w, "no", http.StatusForbidden)
				}))
			}()
			defer srv.Close()
			conns := make([]net.Conn, n)
			for i := range conns {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
				req := "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
				if _, err := c.Write([]byte(req)); err != nil {
					t.Fatal(err)
				}
			}
			for i, c := range conns {
				// A sanity bound, not a performance claim: the server
				// closes right after writing the response.
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				b, err := io.ReadAll(c)
				if err != nil {
					t.Fatalf("conn %d: %v after %q (the server did not close)", i, err, b)
				}
				if !bytes.HasPrefix(b, []byte("HTTP/1.1 403")) {
					t.Fatalf("conn %d: got %q", i, b)
				}
			}
			// The clients still hold their ends open: the server must have
			// released its descriptors all the same.
			for deadline := time.Now().Add(10 * time.Second); loopConns(srv) > 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d refused connections still registered on the loops", loopConns(srv))
				}
			}
		})
	}
}

// loopConns counts the connections registered on srv's loops, read on the
// loops themselves.
func loopConns(srv *Server) int {
	n := 0
	for _, l := range srv.loops {
		ch := make(chan int, 1)
		l.post(func() {
			k := 0
			for _, c := range l.conns {
				if c != nil {
					k++
				}
			}
			ch <- k
		})
		n += <-ch
	}
	return n
}

// TestErrorResponseWithMoreInput sends a malformed request followed by
// more input the server never parses, and keeps sending after the
// response: the client must read the whole 400 and then the server's close.
func TestErrorResponseWithMoreInput(t *testing.T) {
	for _, ring := range []bool{true, false} {
		t.Run(fmt.Sprintf("ring=%v", ring), func(t *testing.T) {
			srv, err := NewServer(Config{disableURing: !ring})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln, http.NotFoundHandler()) }()
			defer srv.Close()
			for i := 0; i < 20; i++ {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				junk := append([]byte("NOT HTTP\r\n\r\n"), bytes.Repeat([]byte("x"), 32<<10)...)
				if _, err := c.Write(junk); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // let the response and any reset arrive
				_, _ = c.Write([]byte("more"))
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				b, err := io.ReadAll(c)
				c.Close()
				if !bytes.HasPrefix(b, []byte("HTTP/1.1 400")) {
					t.Fatalf("attempt %d: got %q, %v", i, b, err)
				}
			}
		})
	}
}

// TestAdoptAfterShutdown hands connections to loops that are stopping or
// stopped: each must still be closed (its peer sees EOF), none leaked.
func TestAdoptAfterShutdown(t *testing.T) {
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.start()
	l := srv.loops[0]
	pair := func() (int, *os.File) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		_ = syscall.SetNonblock(fds[0], true)
		_ = syscall.SetNonblock(fds[1], true) // pollable, so that the read deadline works
		return fds[0], os.NewFile(uintptr(fds[1]), "peer")
	}
	// One handed over while the loop is stopping, one after it stopped.
	fd1, peer1 := pair()
	defer peer1.Close()
	l.stop()
	l.adoptHTTP(srv.newConn(), fd1, http.NotFoundHandler(), nil)
	<-l.stopped
	fd2, peer2 := pair()
	defer peer2.Close()
	l.adoptHTTP(srv.newConn(), fd2, http.NotFoundHandler(), nil)
	for i, p := range []*os.File{peer1, peer2} {
		_ = p.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := p.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("connection %d: read %d, %v; want EOF (closed by the server)", i+1, n, err)
		}
	}
	_ = srv.Close()
}

// TestBroadcastWithInputMidPass broadcasts to more connections than one
// io_uring chunk holds while every client keeps sending requests that the
// server answers, and some clients vanish: the loop reads and tears down
// between the chunks of its flush passes (pollInput). Every remaining
// client must get every broadcast message in order and every answer.
func TestBroadcastWithInputMidPass(t *testing.T) {
	if !ringAvailable() {
		t.Skip("no io_uring here: flush passes are not chunked")
	}
	srv, err := NewServer(Config{Loops: 1, WriteBufferLimit: 64 << 20}) // one loop: passes of them all
	if err != nil {
		t.Fatal(err)
	}
	const clients, msgs, rounds = 3 * ringEntries / 2, 40, 4
	var mu sync.Mutex
	var wg sync.WaitGroup // the fan-out goroutine
	defer wg.Wait()
	conns := map[*Conn]bool{}
	h := HandlerFuncs{
		Open:  func(c *Conn) { mu.Lock(); conns[c] = true; mu.Unlock() },
		Close: func(c *Conn, err error) { mu.Lock(); delete(conns, c); mu.Unlock() },
		Message: func(c *Conn, typ MessageType, data []byte) {
			if !bytes.Equal(data, []byte("go")) {
				_ = c.WriteMessage(TextMessage, data) // an answer
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					for i := 0; i < msgs; i++ {
						pm, _ := NewPreparedMessage(BinaryMessage, payload(i%8))
						mu.Lock()
						for x := range conns {
							_ = x.WritePrepared(pm)
						}
						mu.Unlock()
					}
				}
			}()
		},
	}
	defer func() { _ = srv.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ccs := serveAndDial(ctx, t, srv, h, clients, func() int { mu.Lock(); defer mu.Unlock(); return len(conns) })
	if err := ccs[0].Write(ctx, TextMessage, []byte("go")); err != nil {
		t.Fatal(err)
	}
	var rg sync.WaitGroup
	errs := make(chan error, clients)
	for ci, cc := range ccs {
		rg.Add(1)
		go func() {
			defer rg.Done()
			quitter := ci%10 == 5
			asked, answered, next := 0, 0, 0
			for next < rounds*msgs {
				if quitter && next == msgs {
					_ = cc.CloseNow()
					return
				}
				if asked-answered < 2 {
					q := fmt.Sprintf("q%d-%d", ci, asked)
					if err := cc.Write(ctx, TextMessage, []byte(q)); err != nil {
						errs <- fmt.Errorf("client %d: write: %v", ci, err)
						return
					}
					asked++
				}
				typ, data, err := cc.Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("client %d message %d: %v", ci, next, err)
					return
				}
				if typ == TextMessage {
					if want := fmt.Sprintf("q%d-%d", ci, answered); string(data) != want {
						errs <- fmt.Errorf("client %d: answer %q, want %q", ci, data, want)
						return
					}
					answered++
					continue
				}
				if !bytes.Equal(data, payload(next%msgs%8)) {
					errs <- fmt.Errorf("client %d message %d: got %d bytes, want %d", ci, next, len(data), len(payload(next%msgs%8)))
					return
				}
				next++
			}
		}()
	}
	rg.Wait()
	closeAll(t, errs, ccs, srv)
	var polled uint64
	for _, l := range srv.loops {
		polled += l.polled
	}
	if polled == 0 {
		t.Error("no event was read between the chunks of a flush pass: the test missed what it is for")
	}
	t.Logf("events read between chunks: %d", polled)
}

// serveAndDial serves WebSocket upgrades to h on a loopback listener and
// dials n clients, waiting until open reports all of them open.
func serveAndDial(ctx context.Context, t *testing.T, srv *Server, h Handler, n int, open func() int) []*ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = srv.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = srv.Upgrade(w, r, h) }))
	}()
	ccs := make([]*ClientConn, n)
	for i := range ccs {
		cc, _, err := Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		ccs[i] = cc
	}
	for deadline := time.Now().Add(20 * time.Second); open() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections open", open(), n)
		}
	}
	return ccs
}

// closeAll reports the clients' errors (errs is closed here), closes the
// clients and stops srv: its loops' counters are then safe to read.
func closeAll(t *testing.T, errs chan error, ccs []*ClientConn, srv *Server) {
	t.Helper()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, cc := range ccs {
		_ = cc.CloseNow()
	}
	_ = srv.Close()
}

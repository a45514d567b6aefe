package websocket_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// A client that never reads is dropped with ErrSlowConsumer once its backlog
// passes WriteBufferLimit; a reading client on the same server keeps getting
// every message.
func TestSlowConsumerDropped(t *testing.T) {
	srv, err := websocket.NewServer(websocket.Config{WriteBufferLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[*websocket.Conn]bool{}
	closed := make(chan error, 2)
	h := websocket.HandlerFuncs{
		Open: func(c *websocket.Conn) { mu.Lock(); conns[c] = true; mu.Unlock() },
		Close: func(c *websocket.Conn, err error) {
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			closed <- err
		},
	}
	go func() {
		_ = srv.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = srv.Upgrade(w, r, h) }))
	}()
	defer srv.Close()
	url := "ws://" + ln.Addr().String() + "/"

	// The slow one: a raw TCP client with a tiny receive buffer that reads nothing after the handshake.
	slow := dialRaw(t, ln.Addr().String(), "/", "")
	_ = slow.nc.(*net.TCPConn).SetReadBuffer(4096)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	good, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(conns)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open", n)
		}
		time.Sleep(5 * time.Millisecond)
	}

	msg := bytes.Repeat([]byte("x"), 16<<10)
	pm, _ := websocket.NewPreparedMessage(websocket.BinaryMessage, msg)
	// Broadcast until the slow client is dropped (kernel buffers on loopback
	// absorb several MiB first), at most 4000 messages (64 MiB).
	var got atomic.Int64
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := good.Read(ctx); err != nil {
				readErr <- err
				return
			}
			got.Add(1)
		}
	}()
	sent := 0
	var closeErr error
	for closeErr == nil && sent < 4000 {
		mu.Lock()
		for c := range conns {
			_ = c.WritePrepared(pm)
		}
		mu.Unlock()
		sent++
		select {
		case closeErr = <-closed:
		default:
		}
		if sent%4 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if closeErr != websocket.ErrSlowConsumer {
		t.Fatalf("after %d messages the slow client closed with %v", sent, closeErr)
	}
	// The reading client gets every message sent to it.
	for got.Load() < int64(sent) {
		select {
		case err := <-readErr:
			t.Fatalf("reading client after %d of %d messages: %v", got.Load(), sent, err)
		case <-ctx.Done():
			t.Fatalf("reading client got %d of %d messages", got.Load(), sent)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if st := srv.Stats(); st.SlowConsumers != 1 {
		t.Fatalf("Stats().SlowConsumers = %d, want 1", st.SlowConsumers)
	}
	t.Logf("slow client dropped after %d messages of 16 KiB", sent)
	_ = good.CloseNow()
	<-readErr
}

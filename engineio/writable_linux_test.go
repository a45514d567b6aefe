package engineio

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// smallBufferListener listens on loopback with a small, fixed send buffer,
// which accepted connections inherit (Linux): a peer that does not read
// then leaves nearly everything the server sends in the server's own queue.
func smallBufferListener(t *testing.T) net.Listener {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// smallBufferDial dials with a small, fixed receive buffer.
func smallBufferDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return d.DialContext(ctx, network, addr)
}

// TestWritableWebSocketBackedUp: a WebSocket session whose client does not
// read is not writable once its output backs up, and is again once the
// client has read everything.
func TestWritableWebSocketBackedUp(t *testing.T) {
	rec := newRecorder(false)
	cfg := quietConfig()
	cfg.Handler = rec
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener.Close()
	ts.Listener = smallBufferListener(t)
	ts.Start()
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{NetDial: smallBufferDial})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer c.CloseNow()
	s := rec.next(t, "open").s
	if open := readText(t, c); !strings.HasPrefix(open, "0{") || !s.Writable() {
		t.Fatalf("fresh WebSocket session (open packet %q) not writable", open)
	}

	// 2 MiB unread: the kernel buffers hold well under 1 MiB of it, so more
	// than writableBacklog stays queued (and less than the engine's 4 MiB
	// WriteBufferLimit, which would drop the client).
	chunk := []byte(strings.Repeat("x", 8<<10))
	const chunks = 256
	for range chunks {
		if err := s.Send(chunk, false); err != nil {
			t.Fatal(err)
		}
	}
	if s.Writable() {
		t.Fatal("writable with 2 MiB unread")
	}
	for i := range chunks {
		typ, data, err := c.Read(ctx)
		if err != nil || typ != websocket.TextMessage || len(data) != 1+len(chunk) {
			t.Fatalf("chunk %d: %v %d bytes %v", i, typ, len(data), err)
		}
	}
	// The client read the last byte sent, so nothing is left to write.
	if !s.Writable() {
		t.Fatal("not writable after the client read everything")
	}
}

package socketio

import (
	"context"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// setBuffer returns a net.Dialer/ListenConfig Control that fixes the
// socket's buffer opt (SO_SNDBUF, SO_RCVBUF) at 16 KiB.
func setBuffer(opt int) func(_, _ string, rc syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 16<<10)
		}); err != nil {
			return err
		}
		return serr
	}
}

// TestVolatileWebSocket: on WebSocket, volatile packets (Emit and broadcast)
// are dropped while the connection's output is backed up by a client that
// does not read, and delivered again once it has caught up.
func TestVolatileWebSocket(t *testing.T) {
	sio, eio, sockets, opened := volatileServer(t)
	// Accepted connections inherit the listener's small send buffer, and
	// the client's receive buffer is small too: what the client leaves
	// unread stays in the server's queue.
	lc := net.ListenConfig{Control: setBuffer(syscall.SO_SNDBUF)}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: eio}
	go hs.Serve(ln)
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dialer := net.Dialer{Control: setBuffer(syscall.SO_RCVBUF)}
	c, resp, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket",
		&websocket.DialOptions{NetDial: dialer.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer c.CloseNow()
	read := func() string {
		t.Helper()
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	es := receive(t, opened)
	if got := read(); !strings.HasPrefix(got, "0{") {
		t.Fatalf("open %q", got)
	}
	if err := c.Write(ctx, websocket.TextMessage, []byte("40")); err != nil {
		t.Fatal(err)
	}
	s := receive(t, sockets)
	if got := read(); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("connect reply %q", got)
	}

	// 2 MiB the client does not read yet: the kernel's buffers take a small
	// part, the rest stays queued, below the engine's 4 MiB limit.
	fill := strings.Repeat("x", 8<<10)
	const fills = 256
	for range fills {
		if err := s.Emit("fill", fill); err != nil {
			t.Fatal(err)
		}
	}
	if es.Writable() {
		t.Fatal("session writable with 2 MiB unread")
	}
	if err := s.EmitVolatile("dropped"); err != nil {
		t.Fatal(err)
	}
	if err := sio.Of("/").Volatile().Emit("dropped-broadcast"); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("last"); err != nil {
		t.Fatal(err)
	}
	want := `42["fill","` + fill + `"]`
	for i := range fills {
		if got := read(); got != want {
			t.Fatalf("message %d: got %.40q, want a fill", i, got)
		}
	}
	if got := read(); got != `42["last"]` {
		t.Fatalf("after the fills: got %.40q, want the last event (volatile ones dropped)", got)
	}
	// The client has read the last byte sent: the session is writable and
	// volatile packets flow again.
	if !es.Writable() {
		t.Fatal("not writable after the client caught up")
	}
	if err := sio.Of("/").Volatile().Emit("kept"); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != `42["kept"]` {
		t.Fatalf("got %.40q, want the volatile broadcast", got)
	}
}

package websocket_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// echoHandler echoes every message with its type.
var echoHandler = websocket.HandlerFuncs{
	Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
		_ = c.WriteMessage(typ, data)
	},
}

// startServe runs srv.Serve on a loopback listener with an HTTP handler that
// upgrades /echo and answers "hello" elsewhere.
func startServe(t *testing.T, cfg websocket.Config) (*websocket.Server, string) {
	t.Helper()
	srv, err := websocket.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		_, _ = srv.Upgrade(w, r, echoHandler)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, mux) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != websocket.ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, ln.Addr().String()
}

func roundTrip(t *testing.T, url string, opts *websocket.DialOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []struct {
		typ  websocket.MessageType
		data []byte
	}{
		{websocket.TextMessage, []byte("hello")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 3}},
		{websocket.TextMessage, []byte("")},
		{websocket.TextMessage, []byte(strings.Repeat("héllo wörld ", 20000))},
		{websocket.BinaryMessage, bytes.Repeat([]byte{7}, 70000)},
	}
	for _, m := range msgs {
		if err := cc.Write(ctx, m.typ, m.data); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range msgs {
		typ, data, err := cc.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ != m.typ || !bytes.Equal(data, m.data) {
			t.Fatalf("message %d: got %v len %d, want %v len %d", i, typ, len(data), m.typ, len(m.data))
		}
	}
	if err := cc.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
}

func TestEchoServe(t *testing.T) {
	_, addr := startServe(t, websocket.Config{})
	roundTrip(t, "ws://"+addr+"/echo", nil)
}

func TestEchoServeCompressed(t *testing.T) {
	_, addr := startServe(t, websocket.Config{Compression: true})
	roundTrip(t, "ws://"+addr+"/echo", &websocket.DialOptions{Compression: true})
}

func TestServeHandsOffPlainHTTP(t *testing.T) {
	_, addr := startServe(t, websocket.Config{})
	resp, err := http.Get("http://" + addr + "/page")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if b.String() != "hello" {
		t.Fatalf("got %q", b.String())
	}
}

func TestEchoHijack(t *testing.T) {
	srv, err := websocket.NewServer(websocket.Config{Compression: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = srv.Upgrade(w, r, echoHandler)
	}))
	defer hs.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	roundTrip(t, url, nil)
	roundTrip(t, url, &websocket.DialOptions{Compression: true})
}

func TestPingIntervalDropsSilentPeer(t *testing.T) {
	closed := make(chan error, 1)
	srv, err := websocket.NewServer(websocket.Config{PingInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := websocket.HandlerFuncs{Close: func(c *websocket.Conn, err error) { closed <- err }}
	go func() {
		_ = srv.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = srv.Upgrade(w, r, h) }))
	}()
	defer srv.Close()
	// A raw client that never answers pings: the server pings, then drops it.
	c := dialRaw(t, ln.Addr().String(), "/", "")
	m, err := c.next()
	if err != nil || m.op != 0x9 {
		t.Fatalf("want a ping, got %+v %v", m, err)
	}
	select {
	case err := <-closed:
		if err != websocket.ErrPingTimeout {
			t.Fatalf("OnClose: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("silent peer not dropped")
	}
	// A client that reads (our Dial answers pings inside Read) stays.
	cc, _, err := websocket.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := cc.Read(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Read while idle: %v", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("live client dropped: %v", err)
	default:
	}
	_ = cc.CloseNow()
}

package sioservice

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestServiceEndToEnd: a WebSocket Socket.IO client joins a room and receives
// what the HTTP API publishes into it.
func TestServiceEndToEnd(t *testing.T) {
	svc, err := New(Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Register(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() string {
		t.Helper()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != "2" {
				return string(data)
			}
			c.Write(ctx, websocket.TextMessage, []byte("3"))
		}
	}
	read() // Engine.IO handshake
	c.Write(ctx, websocket.TextMessage, []byte("40"))
	if r := read(); !strings.HasPrefix(r, `40{"sid":"`) || !strings.Contains(r, `"pid":"`) {
		t.Fatalf("connect reply %q (recovery must be on)", r)
	}
	c.Write(ctx, websocket.TextMessage, []byte(`421["join","lobby"]`))
	if r := read(); r != `431[{"ok":true,"room":"lobby","members":1}]` {
		t.Fatalf("join ack %q", r)
	}
	req, _ := http.NewRequest("POST", hs.URL+"/api/publish", strings.NewReader(`{"room":"lobby","event":"news","data":{"y":2,"x":"<1>"}}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
	// With recovery on, the broadcast carries its offset as a last argument.
	if r := read(); !strings.HasPrefix(r, `42["news",{"y":2,"x":"<1>"},"`) {
		t.Fatalf("delivered %q", r)
	}
}

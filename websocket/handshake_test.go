package websocket_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// rawRequest sends a request head and returns the response status line and
// headers.
func rawRequest(t *testing.T, addr, req string) (*http.Response, error) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	return http.ReadResponse(bufio.NewReader(nc), nil)
}

func TestHandshakeRules(t *testing.T) {
	_, addr := startServe(t, websocket.Config{})
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	base := "GET /echo HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
	for _, tc := range []struct {
		name   string
		req    string
		status int
		header [2]string
	}{
		{"valid", base + key + "Sec-WebSocket-Version: 13\r\n\r\n", 101, [2]string{"Sec-Websocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
		{"version 8", base + key + "Sec-WebSocket-Version: 8\r\n\r\n", 426, [2]string{"Sec-Websocket-Version", "13"}},
		{"no key", base + "Sec-WebSocket-Version: 13\r\n\r\n", 400, [2]string{}},
		{"short key", base + "Sec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 13\r\n\r\n", 400, [2]string{}},
		{"two keys", base + key + key + "Sec-WebSocket-Version: 13\r\n\r\n", 400, [2]string{}},
		{"POST", strings.Replace(base, "GET", "POST", 1) + key + "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n", 405, [2]string{}},
		{"cross origin", base + key + "Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n\r\n", 403, [2]string{}},
		{"same origin", base + key + "Sec-WebSocket-Version: 13\r\nOrigin: http://" + addr + "\r\n\r\n", 101, [2]string{}},
		{"garbage", "HELLO\r\n\r\n", 400, [2]string{}},
		{"huge header", "GET /echo HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431, [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := rawRequest(t, addr, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Fatalf("%s: %q, want %q", tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
			}
		})
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	_, addr := startServe(t, websocket.Config{Subprotocols: []string{"chat.v2", "chat.v1"}})
	for _, tc := range []struct {
		offer []string
		want  string
	}{
		{[]string{"chat.v1", "chat.v2"}, "chat.v2"}, // server preference wins
		{[]string{"chat.v1"}, "chat.v1"},
		{[]string{"mqtt"}, ""},
		{nil, ""},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cc, resp, err := websocket.Dial(ctx, "ws://"+addr+"/echo", &websocket.DialOptions{Subprotocols: tc.offer})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if cc.Subprotocol() != tc.want || resp.Header.Get("Sec-WebSocket-Protocol") != tc.want {
			t.Errorf("offer %v: got %q, want %q", tc.offer, cc.Subprotocol(), tc.want)
		}
		_ = cc.CloseNow()
	}
}

func TestCheckOriginHook(t *testing.T) {
	_, addr := startServe(t, websocket.Config{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "https://app.example"
	}})
	for origin, ok := range map[string]bool{"https://app.example": true, "https://other.example": false} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cc, resp, err := websocket.Dial(ctx, "ws://"+addr+"/echo", &websocket.DialOptions{Header: http.Header{"Origin": {origin}}})
		cancel()
		if ok != (err == nil) {
			t.Fatalf("origin %s: err %v", origin, err)
		}
		if err == nil {
			_ = cc.CloseNow()
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %s: want 403, got %v", origin, resp)
		}
	}
}

func TestServerCloseReachesClient(t *testing.T) {
	srv, err := websocket.NewServer(websocket.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	h := websocket.HandlerFuncs{
		Message: func(c *websocket.Conn, _ websocket.MessageType, data []byte) {
			_ = c.Close(4001, string(data))
		},
		Close: func(c *websocket.Conn, err error) { closed <- err },
	}
	go func() {
		_ = srv.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = srv.Upgrade(w, r, h) }))
	}()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.Write(ctx, websocket.TextMessage, []byte("go away")); err != nil {
		t.Fatal(err)
	}
	_, _, err = cc.Read(ctx)
	if websocket.CloseStatus(err) != 4001 {
		t.Fatalf("client got %v, want close 4001", err)
	}
	select {
	case err := <-closed:
		var ce *websocket.CloseError
		if websocket.CloseStatus(err) != 4001 || !asCloseError(err, &ce) || !ce.Local || ce.Reason != "go away" {
			t.Fatalf("server OnClose: %#v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnClose")
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	e, ok := err.(*websocket.CloseError)
	*ce = e
	return ok
}

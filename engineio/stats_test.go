package engineio

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestCheckOrigin: with Config.CheckOrigin, refused origins get 403 on every
// request (handshake, poll, post, preflight, WebSocket); allowed origins and
// requests without Origin proceed.
func TestCheckOrigin(t *testing.T) {
	cfg := quietConfig()
	cfg.CORS = CORS{Origins: []string{"https://good.example"}}
	cfg.CheckOrigin = func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "https://good.example"
	}
	h := newHarness(t, cfg, true)
	const refused = `{"code":4,"message":"origin not allowed"}`

	sid := h.open() // no Origin: allowed
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "", "Origin", "https://good.example")
	if code != 200 {
		t.Fatalf("allowed origin: %d %s", code, body)
	}
	for _, req := range []struct{ method, query, body string }{
		{"GET", "EIO=4&transport=polling", ""},
		{"GET", "EIO=4&transport=polling&sid=" + sid, ""},
		{"POST", "EIO=4&transport=polling&sid=" + sid, "4hi"},
		{"OPTIONS", "EIO=4&transport=polling", ""},
	} {
		code, body, hdr := h.do(req.method, req.query, req.body, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		if code != http.StatusForbidden || body != refused {
			t.Fatalf("%s %s from a refused origin: %d %s", req.method, req.query, code, body)
		}
		if hdr.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s from a refused origin got CORS headers", req.method)
		}
	}
	// The session survived the refused requests.
	if code, body := h.post(sid, "4hello"); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	if code, body := h.poll(sid); code != 200 || body != "4hello" {
		t.Fatalf("poll: %d %q", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tc := range []struct {
		origin string
		ok     bool
	}{{"", true}, {"https://good.example", true}, {"https://evil.example", false}} {
		opts := &websocket.DialOptions{Header: http.Header{}}
		if tc.origin != "" {
			opts.Header.Set("Origin", tc.origin)
		}
		c, resp, err := websocket.Dial(ctx, h.wsURL("EIO=4&transport=websocket"), opts)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if tc.ok != (err == nil) {
			t.Fatalf("WebSocket from origin %q: %v", tc.origin, err)
		}
		if err == nil {
			if got := readText(t, c); got[0] != '0' {
				t.Fatalf("WebSocket open packet: %q", got)
			}
			_ = c.CloseNow()
		} else if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("WebSocket from a refused origin: %v, want 403", resp)
		}
	}
	if got := h.srv.Stats().OriginRefused; got != 5 {
		t.Fatalf("OriginRefused = %d, want 5", got)
	}
}

// TestStatsCount: messages and bytes in and out are counted per transport.
func TestStatsCount(t *testing.T) {
	h := newHarness(t, quietConfig(), true) // the recorder echoes
	sid := h.open()
	if code, _ := h.post(sid, "4hello\x1e4hi"); code != 200 {
		t.Fatal("post")
	}
	if code, body := h.poll(sid); code != 200 || body != "4hello\x1e4hi" {
		t.Fatalf("poll: %d %q", code, body)
	}
	c := h.mustDial("EIO=4&transport=websocket")
	readText(t, c) // open
	write(t, c, "4abc")
	if got := readText(t, c); got != "4abc" {
		t.Fatalf("echo %q", got)
	}
	st := h.srv.Stats()
	want := TransportStats{MessagesIn: 2, BytesIn: 7, MessagesOut: 2, BytesOut: 7}
	if st.Polling != want {
		t.Fatalf("polling %+v, want %+v", st.Polling, want)
	}
	want = TransportStats{MessagesIn: 1, BytesIn: 3, MessagesOut: 1, BytesOut: 3}
	if st.WebSocket != want {
		t.Fatalf("websocket %+v, want %+v", st.WebSocket, want)
	}
	if st.Sessions != 2 {
		t.Fatalf("sessions %d", st.Sessions)
	}
}

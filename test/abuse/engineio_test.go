package abuse

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// eio is a hand-driven Engine.IO polling session.
type eio struct {
	t   *testing.T
	url string // with sid
	hc  *http.Client
}

func eioOpen(t *testing.T, s *server) *eio {
	t.Helper()
	e := &eio{t: t, url: "http://" + s.addr + "/socket.io/?EIO=4&transport=polling", hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(e.hc.CloseIdleConnections)
	code, body := e.do("GET", e.url, "", "")
	var open struct{ SID string }
	if code != 200 || !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &open) != nil {
		t.Fatalf("handshake: %d %q", code, body)
	}
	e.url += "&sid=" + open.SID
	return e
}

func (e *eio) do(method, url, body, ctype string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *eio) post(body string) (int, string) {
	return e.do("POST", e.url, body, "text/plain;charset=UTF-8")
}

// poll does one GET with a deadline of d; "" when it timed out.
func (e *eio) poll(d time.Duration) (int, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url, nil)
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// closed reports whether the session is gone: a GET answers 400 (unknown
// session) or carries the close packet.
func (e *eio) closed() bool {
	e.t.Helper()
	for range 3 {
		code, body := e.poll(2 * time.Second)
		if code == 400 {
			return true
		}
		for _, p := range strings.Split(body, "\x1e") {
			if p == "1" || strings.HasPrefix(p, "41") {
				return true
			}
		}
	}
	return false
}

// TestMalformedPolling: malformed Engine.IO requests and bodies are answered
// with 400 (413 for an oversized body) and the JSON error of the reference
// implementation, and a malformed body closes its session; nothing crashes.
func TestMalformedPolling(t *testing.T) {
	s := startServer(t)
	p := startProber(t, s)
	base := "http://" + s.addr + "/socket.io/?"
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	for _, tc := range []struct {
		name, method, query, body string
		status                    int
		code                      int // Engine.IO error code in the JSON body; -1: not checked
	}{
		{"unknown transport", "GET", "EIO=4&transport=pigeon", "", 400, 0},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", "", 400, 1},
		{"handshake by POST", "POST", "EIO=4&transport=polling", "40", 400, 2},
		{"protocol v3", "GET", "EIO=3&transport=polling", "", 400, 5},
		{"no protocol version", "GET", "transport=polling", "", 400, 5},
		{"protocol version garbage", "GET", "EIO=4x&transport=polling", "", 400, 5},
		{"POST to an unknown sid", "POST", "EIO=4&transport=polling&sid=nope", "4hi", 400, 1},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.query, strings.NewReader(tc.body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Code int }
		if resp.StatusCode != tc.status || (tc.code >= 0 && (json.Unmarshal(b, &e) != nil || e.Code != tc.code)) {
			t.Errorf("%s: %d %s, want %d with code %d", tc.name, resp.StatusCode, b, tc.status, tc.code)
		}
	}

	for _, tc := range []struct {
		name, body, ctype string
		status            int
	}{
		{"empty body", "", "", 400},
		{"unknown packet type", "9", "", 400},
		{"text garbage", "xyz", "", 400},
		{"empty packet between separators", "4a\x1e\x1e4b", "", 400},
		{"bad base64", "b!!!!", "", 400},
		{"binary content type", "\x00\x01\x02", "application/octet-stream", 400},
		{"over maxPayload", strings.Repeat("4", 1_000_001), "", 413},
	} {
		e := eioOpen(t, s)
		code, body := e.do("POST", e.url, tc.body, tc.ctype)
		if code != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.status)
		}
		if !e.closed() {
			t.Errorf("%s: session still open", tc.name)
		}
	}

	t.Run("overlapping GETs", func(t *testing.T) {
		e := eioOpen(t, s)
		first := make(chan int, 1)
		go func() { c, _ := e.poll(10 * time.Second); first <- c }()
		time.Sleep(200 * time.Millisecond)
		code, _ := e.poll(5 * time.Second)
		if code != 400 {
			t.Errorf("second GET: %d, want 400", code)
		}
		if c := <-first; c != 200 {
			t.Errorf("first GET: %d, want 200 with the close packet", c)
		}
	})
	t.Run("body shorter than its Content-Length", func(t *testing.T) {
		e := eioOpen(t, s)
		c, err := dialFrom(1, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		path := strings.TrimPrefix(e.url, "http://"+s.addr)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n4short", path)
		c.(interface{ CloseWrite() error }).CloseWrite()
		if !closedByPeer(c, probeTimeout) {
			t.Error("connection not closed")
		}
		if !e.closed() {
			t.Error("session still open after a truncated body")
		}
	})
	p.stop("malformed Engine.IO polling")
	mustProbe(t, s, "after malformed Engine.IO")
}

// TestMalformedSocketIO: malformed Socket.IO packets inside well-formed
// Engine.IO messages. Undecodable packets disconnect the client (socket.io's
// behaviour); a bad namespace gets connect_error; bad arguments to the
// service's events get a failed ack; nothing crashes.
func TestMalformedSocketIO(t *testing.T) {
	s := startServer(t)
	connected := func(t *testing.T) *eio {
		e := eioOpen(t, s)
		if code, body := e.post("40"); code != 200 {
			t.Fatalf("connect: %d %s", code, body)
		}
		if _, body := e.poll(5 * time.Second); !strings.Contains(body, "40{") {
			t.Fatalf("no CONNECT answer: %q", body)
		}
		return e
	}
	for _, tc := range []struct {
		name, pkt string
	}{
		{"unknown type", "49"},
		{"event not JSON", "42not json"},
		{"event unterminated", `42["join"`},
		{"event not an array", `42{"a":1}`},
		{"event empty array", `42[]`},
		{"event name a number", `42[1,2]`},
		{"ack id overflow", `4299999999999999999999["join","r"]`},
		{"attachment count absurd", `4599999999999-["x",{"_placeholder":true,"num":0}]`},
		{"attachment count not a number", `45x-["x"]`},
		{"namespace unterminated", `42/nope`},
		{"reserved event name", `42["connect"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := connected(t)
			code, body := e.post("4" + tc.pkt[1:])
			if code != 200 && code != 400 {
				t.Errorf("POST: %d %q", code, body)
			}
			if !e.closed() {
				t.Errorf("%q: client not disconnected", tc.pkt)
			}
		})
	}
	t.Run("placeholder beyond the attachments", func(t *testing.T) {
		e := connected(t)
		e.post(`451-["x",{"_placeholder":true,"num":7}]` + "\x1ebAQID")
		if !e.closed() {
			t.Error("client not disconnected")
		}
	})
	t.Run("unknown namespace", func(t *testing.T) {
		e := connected(t)
		e.post("40/nope,")
		if _, body := e.poll(5 * time.Second); !strings.HasPrefix(body, "44/nope,") {
			t.Errorf("got %q, want connect_error for /nope", body)
		}
	})
	for _, tc := range []struct{ name, pkt string }{
		{"join with an object", `420["join",{"$ne":1}]`},
		{"join with no room", `420["join"]`},
		{"join with a huge room name", `420["join","` + strings.Repeat("r", 10_000) + `"]`},
		{"publish with a string", `420["publish","x"]`},
		{"publish to a reserved event", `420["publish",{"room":"r","event":"disconnect","data":1}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := connected(t)
			e.post(tc.pkt)
			if _, body := e.poll(5 * time.Second); !strings.HasPrefix(body, "430") || !strings.Contains(body, `"ok":false`) {
				t.Errorf("got %q, want a failed ack", body)
			}
		})
	}
	t.Run("websocket garbage", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/socket.io/?EIO=4&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		_, _, _ = ws.Read(ctx) // open packet
		_ = ws.Write(ctx, websocket.TextMessage, []byte("xyz"))
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				if ctx.Err() != nil {
					t.Error("connection not closed after a garbage packet")
				}
				break
			}
		}
	})
	s.alive(t)
	mustProbe(t, s, "after malformed Socket.IO")
}

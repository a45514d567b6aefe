package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/signaling/message"
	"github.com/switchboard/switchboard/websocket"
)

// startServer serves a signaling Server on a loopback httptest server and
// shuts both down when the test ends.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	cfg.Logger = quiet
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return srv, "ws://" + hs.Listener.Addr().String() + "/signal"
}

type wsClient struct {
	t  *testing.T
	cc *websocket.ClientConn
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.CloseNow() })
	return &wsClient{t, cc}
}

func (c *wsClient) send(format string, args ...any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.cc.Write(ctx, websocket.TextMessage, fmt.Appendf(nil, format, args...)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) read() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := c.cc.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.TextMessage {
		return nil, fmt.Errorf("message type %v", typ)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("invalid JSON %q: %w", data, err)
	}
	f["_raw"] = string(data)
	return f, nil
}

func (c *wsClient) expect(typ string) frame {
	c.t.Helper()
	f, err := c.read()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", typ, err)
	}
	if f.str("type") != typ {
		c.t.Fatalf("got %s, want a %s frame", f["_raw"], typ)
	}
	return f
}

func TestServerSignal(t *testing.T) {
	_, url := startServer(t, Config{MaxMessageSize: 1024})
	a, b := dial(t, url), dial(t, url)
	a.send(`{"type":"join","room":"r","name":"A"}`)
	idA := a.expect("joined").str("id")
	b.send(`{"type":"join","room":"r","name":"B"}`)
	jb := b.expect("joined")
	idB := jb.str("id")
	if !strings.Contains(jb.str("_raw"), `"peers":[{"id":"`+idA+`","name":"A"}]`) || !strings.Contains(jb.str("_raw"), `"urls":["stun:127.0.0.1:3478"]`) {
		t.Fatalf("joined = %s", jb["_raw"])
	}
	a.expect("peer-joined")

	b.send(`{"type":"offer","to":%q,"sdp":"v=0 offer"}`, idA)
	if f := a.expect("offer"); f["_raw"] != fmt.Sprintf(`{"type":"offer","from":%q,"sdp":"v=0 offer"}`, idB) {
		t.Fatalf("offer = %s", f["_raw"])
	}
	a.send(`{"type":"answer","to":%q,"sdp":"v=0 answer"}`, idB)
	b.expect("answer")

	// Errors keep the socket open.
	b.send(`{"type":"offer","to":%q,"sdp":%q}`, idA, strings.Repeat("x", 2000))
	if f := b.expect("error"); f.str("code") != string(message.CodeTooLarge) {
		t.Fatal(f["_raw"])
	}
	b.send(`nope`)
	if f := b.expect("error"); f.str("code") != string(message.CodeBadJSON) {
		t.Fatal(f["_raw"])
	}
	b.send(`{"type":"candidate","to":%q,"candidate":{"candidate":""}}`, idA)
	a.expect("candidate")

	b.send(`{"type":"leave"}`)
	if f := a.expect("peer-left"); f.str("id") != idB {
		t.Fatal(f["_raw"])
	}
	b.send(`{"type":"join","room":"r","name":"B"}`)
	idB = b.expect("joined").str("id")
	a.expect("peer-joined")

	// Closing the socket without a close handshake is a leave too.
	_ = b.cc.CloseNow()
	if f := a.expect("peer-left"); f.str("id") != idB {
		t.Fatal(f["_raw"])
	}
}

func TestServerPingTimeout(t *testing.T) {
	_, url := startServer(t, Config{PingInterval: 50 * time.Millisecond})
	a, b := dial(t, url), dial(t, url)
	a.send(`{"type":"join","room":"r"}`)
	a.expect("joined")
	b.send(`{"type":"join","room":"r"}`)
	idB := b.expect("joined").str("id")
	a.expect("peer-joined")
	// b stops reading, so it never answers pings: the server must drop it.
	// a keeps reading (and so answering pings) until peer-left arrives.
	start := time.Now()
	if f := a.expect("peer-left"); f.str("id") != idB {
		t.Fatal(f["_raw"])
	}
	t.Logf("silent peer dropped after %v", time.Since(start))
}

func TestServerAbuseCloses(t *testing.T) {
	_, url := startServer(t, Config{MaxErrors: 2})
	a := dial(t, url)
	for range 3 {
		a.send(`{"type":"leave"}`)
	}
	for range 3 {
		if f := a.expect("error"); f.str("code") != string(message.CodeNotJoined) {
			t.Fatal(f["_raw"])
		}
	}
	_, err := a.read()
	if websocket.CloseStatus(err) != int(websocket.StatusPolicyViolation) {
		t.Fatalf("after abuse: %v, want close 1008", err)
	}
}

func TestServerShutdown(t *testing.T) {
	srv, err := New(Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := "ws://" + hs.Listener.Addr().String() + "/signal"
	a := dial(t, url)
	a.send(`{"type":"join","room":"r"}`)
	a.expect("joined")

	resp, err := http.Get(hs.URL + "/signal")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("plain GET: %d", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	_, err = a.read()
	if websocket.CloseStatus(err) != int(websocket.StatusGoingAway) {
		t.Fatalf("client saw %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if srv.Hub().Len() != 0 {
		t.Fatalf("%d sessions left", srv.Hub().Len())
	}
}

// TestServerOrigin: same-origin only by default; Config.CheckOrigin widens it.
func TestServerOrigin(t *testing.T) {
	other := &websocket.DialOptions{Header: http.Header{"Origin": {"https://elsewhere.example"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, url := startServer(t, Config{})
	if cc, resp, err := websocket.Dial(ctx, url, other); err == nil {
		_ = cc.CloseNow()
		t.Fatal("cross-origin connection accepted by default")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin: %v", err)
	}
	_, url = startServer(t, Config{CheckOrigin: func(*http.Request) bool { return true }})
	cc, _, err := websocket.Dial(ctx, url, other)
	if err != nil {
		t.Fatalf("with CheckOrigin: %v", err)
	}
	_ = cc.CloseNow()
}

package peerjs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.Logger = quiet
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/peerjs", srv)
	mux.Handle("/peerjs/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return srv, hs
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestHTTPAPI(t *testing.T) {
	_, hs := startServer(t, Config{})
	code, hdr, body := get(t, hs.URL+"/peerjs")
	if code != 200 || body != info || hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("info: %d %q", code, body)
	}
	code, _, id := get(t, hs.URL+"/peerjs/peerjs/id?ts=123&version=1.5.5")
	if code != 200 || !ValidID(id) || len(id) != 36 {
		t.Fatalf("id: %d %q", code, id)
	}
	if code, _, _ := get(t, hs.URL+"/peerjs/peerjs/peers"); code != http.StatusUnauthorized {
		t.Fatalf("peers without discovery: %d", code)
	}
	for _, p := range []string{"/peerjs/peerjs/nope", "/peerjs/x", "/peerjsx", "/peerjs/peerjs"} {
		if code, _, _ := get(t, hs.URL+p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}

type wsPeer struct {
	t  *testing.T
	cc *websocket.ClientConn
}

func dialPeer(t *testing.T, hs *httptest.Server, query string) *wsPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/peerjs/peerjs?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.CloseNow() })
	return &wsPeer{t, cc}
}

func (p *wsPeer) send(s string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.cc.Write(ctx, websocket.TextMessage, []byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *wsPeer) expect(want string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := p.cc.Read(ctx)
	if err != nil {
		p.t.Fatalf("waiting for %s: %v", want, err)
	}
	if string(data) != want {
		p.t.Fatalf("got %s, want %s", data, want)
	}
}

func (p *wsPeer) expectClose() error {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := p.cc.Read(ctx)
	if err == nil {
		p.t.Fatalf("got %s, want the socket closed", data)
	}
	return err
}

func TestWebSocket(t *testing.T) {
	srv, hs := startServer(t, Config{AllowDiscovery: true, LeaveGrace: 50 * time.Millisecond, ExpireTimeout: 100 * time.Millisecond})
	a := dialPeer(t, hs, "key=peerjs&id=alice&token=ta&version=1.5.5")
	a.expect(`{"type":"OPEN"}`)
	b := dialPeer(t, hs, "key=peerjs&id=bob&token=tb")
	b.expect(`{"type":"OPEN"}`)

	if n := srv.Len(); n != 2 {
		t.Fatalf("Len = %d", n)
	}
	_, _, body := get(t, hs.URL+"/peerjs/peerjs/peers")
	var ids []string
	if err := json.Unmarshal([]byte(body), &ids); err != nil || len(ids) != 2 {
		t.Fatalf("peers = %s", body)
	}

	a.send(`{"type":"OFFER","src":"mallory","dst":"bob","payload":{"type":"media","connectionId":"mc_1"}}`)
	b.expect(`{"type":"OFFER","src":"alice","dst":"bob","payload":{"type":"media","connectionId":"mc_1"}}`)
	b.send(`{"type":"HEARTBEAT"}`)
	b.send(`garbage`)
	b.send(`{"type":"ANSWER","dst":"alice","payload":{"connectionId":"mc_1"}}`)
	a.expect(`{"type":"ANSWER","src":"bob","dst":"alice","payload":{"connectionId":"mc_1"}}`)

	// To an id nobody holds: EXPIRE after the timeout.
	a.send(`{"type":"OFFER","dst":"nobody","payload":{}}`)
	a.expect(`{"type":"EXPIRE","src":"nobody","dst":"alice"}`)

	// Another token cannot take alice's id.
	m := dialPeer(t, hs, "key=peerjs&id=alice&token=stolen")
	m.expect(`{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}`)
	m.expectClose()
	bad := dialPeer(t, hs, "key=nope&id=x&token=t")
	bad.expect(`{"type":"ERROR","payload":{"msg":"Invalid key provided"}}`)
	bad.expectClose()

	// alice vanishes without a close handshake: bob is told LEAVE.
	_ = a.cc.CloseNow()
	b.expect(`{"type":"LEAVE","src":"alice","dst":"bob"}`)

	// Shutdown closes bob with 1001.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	if err := b.expectClose(); websocket.CloseStatus(err) != int(websocket.StatusGoingAway) {
		t.Fatalf("after Shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestCrossOrigin: PeerJS pages are often served from another origin; the
// stock server accepts them, so this endpoint does too.
func TestCrossOrigin(t *testing.T) {
	_, hs := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/peerjs/peerjs?key=peerjs&id=x&token=t",
		&websocket.DialOptions{Header: http.Header{"Origin": {"https://app.example"}}})
	if err != nil {
		t.Fatalf("cross-origin dial: %v", err)
	}
	p := &wsPeer{t, cc}
	t.Cleanup(func() { _ = cc.CloseNow() })
	p.expect(`{"type":"OPEN"}`)
}

// TestReconnect: peer.reconnect() comes back with the same id and token; the
// old socket is closed, and its partners get no LEAVE.
func TestReconnect(t *testing.T) {
	_, hs := startServer(t, Config{LeaveGrace: 200 * time.Millisecond})
	a := dialPeer(t, hs, "key=peerjs&id=a&token=ta")
	a.expect(`{"type":"OPEN"}`)
	b := dialPeer(t, hs, "key=peerjs&id=b&token=tb")
	b.expect(`{"type":"OPEN"}`)
	a.send(`{"type":"OFFER","dst":"b","payload":{"n":1}}`)
	b.expect(`{"type":"OFFER","src":"a","dst":"b","payload":{"n":1}}`)

	// The same token takes the id over while the old socket is still open.
	a2 := dialPeer(t, hs, "key=peerjs&id=a&token=ta")
	a2.expect(`{"type":"OPEN"}`)
	if err := a.expectClose(); websocket.CloseStatus(err) != int(websocket.StatusNormalClosure) {
		t.Fatalf("old socket: %v", err)
	}
	// Well past the grace, b has heard nothing but what a2 sends.
	time.Sleep(400 * time.Millisecond)
	a2.send(`{"type":"CANDIDATE","dst":"b","payload":{"n":2}}`)
	b.expect(`{"type":"CANDIDATE","src":"a","dst":"b","payload":{"n":2}}`)
}

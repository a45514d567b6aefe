package engineio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio/packet"
	"github.com/switchboard/switchboard/websocket"
)

func TestConfigDefaults(t *testing.T) {
	h := HandlerFuncs{}
	cfg, err := Config{Handler: h}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PingInterval != 25*time.Second || cfg.PingTimeout != 20*time.Second || cfg.UpgradeTimeout != 10*time.Second ||
		cfg.MaxPayload != 1e6 || cfg.WriteQueueLimit != 4<<20 || cfg.HTTPCompressionThreshold != 1024 || cfg.Logger == nil ||
		len(cfg.Transports) != 2 {
		t.Fatalf("defaults: %+v", cfg)
	}
	for _, bad := range []Config{
		{},
		{Handler: h, PingInterval: time.Microsecond},
		{Handler: h, PingTimeout: -1},
		{Handler: h, MaxPayload: -1},
		{Handler: h, Transports: []Transport{"webtransport"}},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
	cfg, err = Config{Handler: h, PingInterval: time.Millisecond, PingTimeout: 2 * time.Millisecond}.withDefaults()
	if err != nil || cfg.PingInterval != time.Millisecond {
		t.Fatalf("millisecond heartbeat refused: %v", err)
	}
}

func TestPollingMaxPayload(t *testing.T) {
	cfg := quietConfig()
	cfg.MaxPayload = 100
	h := newHarness(t, cfg, true)
	sid := h.open()
	if code, _ := h.post(sid, "4"+strings.Repeat("x", 99)); code != 200 {
		t.Fatalf("POST at the limit: %d", code)
	}
	h.rec.next(t, "message")
	if code, _ := h.post(sid, "4"+strings.Repeat("x", 100)); code != 413 {
		t.Fatalf("POST over the limit: %d, want 413", code)
	}
	e := h.rec.next(t, "close")
	if e.reason != ReasonTransportError || !errors.Is(e.err, ErrPayloadTooLarge) {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	if code, _ := h.poll(sid); code != 400 {
		t.Fatalf("session survived: %d", code)
	}
}

func TestWebSocketMaxPayload(t *testing.T) {
	cfg := quietConfig()
	cfg.MaxPayload = 100
	h := newHarness(t, cfg, true)
	c := h.mustDial("EIO=4&transport=websocket")
	readText(t, c)
	write(t, c, "4"+strings.Repeat("x", 99))
	if got := readText(t, c); len(got) != 100 {
		t.Fatalf("echo of %d bytes", len(got))
	}
	write(t, c, "4"+strings.Repeat("x", 100))
	err := waitClosed(t, c)
	if websocket.CloseStatus(err) != int(websocket.StatusMessageTooBig) {
		t.Fatalf("close %v, want 1009", err)
	}
	e := h.rec.next(t, "close")
	if e.reason != ReasonTransportError {
		t.Fatalf("reason %q", e.reason)
	}
}

func TestPollingBadPosts(t *testing.T) {
	t.Run("binary content type", func(t *testing.T) {
		h := newHarness(t, quietConfig(), true)
		sid := h.open()
		code, _, _ := h.do("POST", "EIO=4&transport=polling&sid="+sid, "4x", "Content-Type", "application/octet-stream")
		if code != 400 {
			t.Fatalf("status %d", code)
		}
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("session survived: %d", code)
		}
	})
	t.Run("parse error reason", func(t *testing.T) {
		h := newHarness(t, quietConfig(), true)
		sid := h.open()
		h.rec.next(t, "open")
		h.post(sid, "4ok\x1ebad!")
		e := h.rec.next(t, "close")
		if e.reason != ReasonParseError || e.err == nil {
			t.Fatalf("close %q %v", e.reason, e.err)
		}
	})
	t.Run("ping from client", func(t *testing.T) {
		h := newHarness(t, quietConfig(), true)
		sid := h.open()
		h.post(sid, "2")
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("session survived a client ping: %d", code)
		}
	})
	t.Run("overlapping posts", func(t *testing.T) {
		h := newHarness(t, quietConfig(), true)
		sid := h.open()
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", h.url+"?EIO=4&transport=polling&sid="+sid, pr)
		done := make(chan int, 1)
		go func() {
			resp, err := h.client.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		_, _ = pw.Write([]byte("4a"))
		s := h.session(sid)
		eventually(t, "first POST reading", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.posting })
		if code, _ := h.post(sid, "4b"); code != 400 {
			t.Fatalf("second POST: %d, want 400", code)
		}
		pw.Close()
		<-done
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("session survived: %d", code)
		}
	})
}

func TestPollingDelivery(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	if e := h.rec.next(t, "open"); e.s.ID() != sid || e.s.Transport() != Polling || e.s.Request().URL.Query().Get("EIO") != "4" {
		t.Fatalf("open event %+v", e)
	}
	h.post(sid, "4one\x1e4two\x1ebAQID\x1e6\x1e4three")
	for _, want := range []event{{data: "one"}, {data: "two"}, {data: "\x01\x02\x03", binary: true}, {data: "three"}} {
		e := h.rec.next(t, "message")
		if e.data != want.data || e.binary != want.binary {
			t.Fatalf("got %q/%v, want %q/%v", e.data, e.binary, want.data, want.binary)
		}
	}
	h.post(sid, "1")
	e := h.rec.next(t, "close")
	if e.reason != ReasonTransportClose || e.err != nil {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	if h.srv.Len() != 0 {
		t.Fatal("session not removed")
	}
}

// TestPollingBatch checks that packets sent while no GET is pending leave
// together in the next GET, in order, binary as base64.
func TestPollingBatch(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	s := h.rec.next(t, "open").s
	for _, m := range []*Message{NewMessage([]byte("a"), false), NewMessage([]byte{1, 2, 3, 4}, true), NewMessage([]byte("€"), false)} {
		if err := s.SendMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := h.poll(sid); code != 200 || body != "4a\x1ebAQIDBA==\x1e4€" {
		t.Fatalf("GET: %d %q", code, body)
	}
}

func TestPollAbortedByClient(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"?EIO=4&transport=polling&sid="+sid, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := h.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	s := h.session(sid)
	eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
	cancel()
	<-done
	e := h.rec.next(t, "close")
	if e.reason != ReasonTransportError || !errors.Is(e.err, errPollAborted) {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	eventually(t, "session removed", func() bool { return h.srv.Len() == 0 })
}

// TestServeEventLoop runs the server behind websocket.Server.Serve, where
// WebSocket connections live in the event loops and polling goes through the
// engine's net/http server.
func TestServeEventLoop(t *testing.T) {
	ws, err := websocket.NewServer(websocket.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := suiteQuietConfig()
	cfg.WebSocket = ws
	rec := newRecorder(true)
	cfg.Handler = rec
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ws.Serve(ln, srv) }()
	tr := &http.Transport{}
	h := &harness{t: t, srv: srv, rec: rec, url: "http://" + ln.Addr().String() + "/engine.io/", client: &http.Client{Transport: tr}}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := ws.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, websocket.ErrServerClosed) {
			t.Error(err)
		}
		tr.CloseIdleConnections()
	}()

	sid := h.open()
	h.post(sid, "4polled")
	if _, body := h.poll(sid); body != "4polled" {
		t.Fatalf("poll %q", body)
	}
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe %q", got)
	}
	write(t, c, "5")
	write(t, c, "4upgraded")
	if got := readText(t, c); got != "4upgraded" {
		t.Fatalf("got %q", got)
	}
	_ = c.CloseNow()
	eventually(t, "session closed", func() bool { return srv.Len() == 0 })
}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest("GET", "http://127.0.0.1/engine.io/?EIO=4&transport=polling", nil)
	return r
}

func packetMessage(s string) packet.Packet {
	return packet.Packet{Type: packet.Message, Data: []byte(s)}
}

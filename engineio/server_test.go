package engineio

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, quietConfig(), true)
	code, body, hdr := h.do("GET", "EIO=4&transport=polling&sid=nope", "")
	if code != 400 || body != `{"code":1,"message":"Session ID unknown"}` || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("unknown sid: %d %s %v", code, body, hdr)
	}
	code, body, _ = h.do("GET", "EIO=3&transport=polling", "")
	if code != 400 || body != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Fatalf("EIO=3: %d %s", code, body)
	}
	code, body, _ = h.do("GET", "EIO=4&transport=websocket", "")
	if code != 400 || body != `{"code":3,"message":"Bad request"}` {
		t.Fatalf("websocket without upgrade: %d %s", code, body)
	}
	code, body, _ = h.do("POST", "EIO=4&transport=polling", "4x")
	if code != 400 || body != `{"code":2,"message":"Bad handshake method"}` {
		t.Fatalf("POST handshake: %d %s", code, body)
	}
	sid := h.open()
	if code, _, _ := h.do("PUT", "EIO=4&transport=polling&sid="+sid, "4x"); code != 400 {
		t.Fatalf("PUT: %d", code)
	}
}

func TestTransportsConfig(t *testing.T) {
	cfg := quietConfig()
	cfg.Transports = []Transport{Polling}
	h := newHarness(t, cfg, true)
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "")
	if code != 200 || len(parseOpen(t, body).Upgrades) != 0 {
		t.Fatalf("polling-only handshake: %d %s", code, body)
	}
	if _, err := h.dial("EIO=4&transport=websocket"); err == nil {
		t.Fatal("websocket accepted with Transports: polling")
	}
}

func TestAllowRequest(t *testing.T) {
	cfg := quietConfig()
	cfg.AllowRequest = func(r *http.Request) error {
		if r.Header.Get("X-Token") != "ok" {
			return errors.New("bad token")
		}
		return nil
	}
	h := newHarness(t, cfg, true)
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "")
	if code != 403 || body != `{"code":4,"message":"bad token"}` {
		t.Fatalf("refused: %d %s", code, body)
	}
	if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", "X-Token", "ok"); code != 200 {
		t.Fatalf("allowed: %d", code)
	}
	if _, err := h.dial("EIO=4&transport=websocket"); err == nil {
		t.Fatal("websocket handshake not checked by AllowRequest")
	}
}

func TestCORS(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		h := newHarness(t, quietConfig(), true)
		_, _, hdr := h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://a.example")
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("Allow-Origin %q", v)
		}
	})
	t.Run("wildcard", func(t *testing.T) {
		h := newHarness(t, suiteConfig(), true)
		_, _, hdr := h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://a.example")
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "*" {
			t.Fatalf("Allow-Origin %q", v)
		}
		code, _, hdr := h.do("OPTIONS", "EIO=4&transport=polling", "", "Origin", "http://a.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
		if code != 204 || hdr.Get("Access-Control-Allow-Methods") != corsMethods || hdr.Get("Access-Control-Allow-Headers") != "content-type" {
			t.Fatalf("preflight: %d %v", code, hdr)
		}
	})
	t.Run("list with credentials", func(t *testing.T) {
		cfg := quietConfig()
		cfg.CORS = CORS{Origins: []string{"http://a.example"}, Credentials: true, MaxAge: time.Hour}
		h := newHarness(t, cfg, true)
		_, _, hdr := h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://a.example")
		if hdr.Get("Access-Control-Allow-Origin") != "http://a.example" || hdr.Get("Access-Control-Allow-Credentials") != "true" || hdr.Get("Vary") != "Origin" {
			t.Fatalf("allowed origin: %v", hdr)
		}
		_, _, hdr = h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://evil.example")
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("other origin allowed: %q", v)
		}
		_, _, hdr = h.do("OPTIONS", "EIO=4&transport=polling", "", "Origin", "http://a.example", "Access-Control-Request-Method", "GET")
		if hdr.Get("Access-Control-Max-Age") != "3600" {
			t.Fatalf("preflight: %v", hdr)
		}
		// The same policy decides cross-origin WebSocket handshakes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for origin, ok := range map[string]bool{"http://a.example": true, "http://evil.example": false} {
			c, resp, err := websocket.Dial(ctx, h.wsURL("EIO=4&transport=websocket"), &websocket.DialOptions{Header: http.Header{"Origin": {origin}}})
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			if (err == nil) != ok {
				t.Errorf("websocket from %s: err %v", origin, err)
			}
			if c != nil {
				_ = c.CloseNow()
			}
		}
	})
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

func TestSocketClosePolling(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	t.Run("no pending poll", func(t *testing.T) {
		sid := h.open()
		s := h.rec.next(t, "open").s
		_ = s.Send([]byte("bye"), false)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
		if err := s.Send([]byte("late"), false); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after Close: %v", err)
		}
		if e := h.rec.next(t, "close"); e.reason != ReasonForcedClose {
			t.Fatalf("reason %q", e.reason)
		}
		if code, body := h.poll(sid); code != 200 || body != "4bye\x1e1" {
			t.Fatalf("final poll: %d %q", code, body)
		}
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("poll after the final one: %d", code)
		}
	})
	t.Run("pending poll", func(t *testing.T) {
		sid := h.open()
		s := h.rec.next(t, "open").s
		res := make(chan string, 1)
		go func() { _, body := h.poll(sid); res <- body }()
		eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
		_ = s.Close()
		if body := <-res; body != "1" {
			t.Fatalf("pending poll got %q", body)
		}
		if h.has(sid) {
			t.Fatal("session not removed")
		}
	})
	t.Run("client never polls again", func(t *testing.T) {
		cfg := quietConfig()
		cfg.PingInterval, cfg.PingTimeout = 20*time.Millisecond, 20*time.Millisecond
		h2 := newHarness(t, cfg, false)
		h2.open()
		s := h2.rec.next(t, "open").s
		_ = s.Close()
		eventually(t, "session removed", func() bool { return h2.srv.Len() == 0 })
	})
}

func TestSocketCloseWebSocket(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	c := h.mustDial("EIO=4&transport=websocket")
	readText(t, c)
	s := h.rec.next(t, "open").s
	if s.Transport() != WebSocket {
		t.Fatalf("transport %s", s.Transport())
	}
	_ = s.Send([]byte("bye"), false)
	_ = s.Close()
	if got := readText(t, c); got != "4bye" {
		t.Fatalf("got %q", got)
	}
	if err := waitClosed(t, c); websocket.CloseStatus(err) != int(websocket.StatusNormalClosure) {
		t.Fatalf("close %v", err)
	}
	if e := h.rec.next(t, "close"); e.reason != ReasonForcedClose {
		t.Fatalf("reason %q", e.reason)
	}
	eventually(t, "session removed", func() bool { return h.srv.Len() == 0 })
}

func TestWebSocketClientGone(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	c := h.mustDial("EIO=4&transport=websocket")
	readText(t, c)
	h.rec.next(t, "open")
	_ = c.CloseNow()
	e := h.rec.next(t, "close")
	if e.reason != ReasonTransportError && e.reason != ReasonTransportClose {
		t.Fatalf("reason %q", e.reason)
	}
	eventually(t, "session removed", func() bool { return h.srv.Len() == 0 })
}

func TestSlowConsumer(t *testing.T) {
	cfg := quietConfig()
	cfg.WriteQueueLimit = 1000
	h := newHarness(t, cfg, false)
	h.open()
	s := h.rec.next(t, "open").s
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Send(make([]byte, 100), true)
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Send: %v, want ErrSlowConsumer", err)
	}
	e := h.rec.next(t, "close")
	if e.reason != ReasonTransportError || !errors.Is(e.err, ErrSlowConsumer) {
		t.Fatalf("close %q %v", e.reason, e.err)
	}
	if h.srv.Len() != 0 {
		t.Fatal("session not removed")
	}
}

func TestCloseFromOnMessage(t *testing.T) {
	var mu sync.Mutex
	var order []string
	cfg := quietConfig()
	cfg.Handler = HandlerFuncs{
		Message: func(s *Socket, data []byte, binary bool) {
			_ = s.Close()
			mu.Lock()
			order = append(order, "message "+string(data))
			mu.Unlock()
		},
		Close: func(s *Socket, reason Reason, err error) {
			mu.Lock()
			order = append(order, "close "+string(reason))
			mu.Unlock()
		},
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx) // the closed session waits for a poll that never comes
	}()
	s := srv.openSession(handshakeRequest(httptestRequest()), nil)
	s.onPacket(packetMessage("a"))
	s.onPacket(packetMessage("b")) // after close: dropped
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "message a,close forced close" {
		t.Fatalf("order %v", order)
	}
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	s := h.rec.next(t, "open").s
	res := make(chan string, 1)
	go func() { _, body := h.poll(sid); res <- body }()
	eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
	c := h.mustDial("EIO=4&transport=websocket")
	readText(t, c)
	h.rec.next(t, "open")
	idle := h.open() // a polling session with no pending GET: its client collects the close
	h.rec.next(t, "open")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.srv.Shutdown(ctx) }()
	if body := <-res; body != "1" {
		t.Fatalf("pending poll got %q", body)
	}
	if err := waitClosed(t, c); websocket.CloseStatus(err) != int(websocket.StatusGoingAway) {
		t.Fatalf("websocket close %v", err)
	}
	if code, body := h.poll(idle); code != 200 || body != "1" {
		t.Fatalf("idle session's poll: %d %q", code, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range 3 {
		if e := h.rec.next(t, "close"); e.reason != ReasonServerShutdown {
			t.Fatalf("reason %q", e.reason)
		}
	}
	if code, _, _ := h.do("GET", "EIO=4&transport=polling", ""); code != 400 {
		t.Fatalf("handshake after Shutdown: %d", code)
	}
	if err := h.srv.Shutdown(ctx); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestShutdownDeadline: a polling client that never comes back cannot hold
// Shutdown past its context.
func TestShutdownDeadline(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	h.open()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if h.srv.Len() != 0 {
		t.Fatal("sessions left after Shutdown")
	}
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

// TestPongDeadline: the pong deadline counts from when the ping was due;
// a request after the deadline finds
// the session closed even if the timer has not run yet.
func TestPongDeadline(t *testing.T) {
	var reason Reason
	srv, err := New(Config{PingInterval: time.Second, PingTimeout: time.Second,
		Handler: HandlerFuncs{Close: func(_ *Socket, r Reason, _ error) { reason = r }}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	s := srv.openSession(handshakeRequest(httptestRequest()), nil)
	s.mu.Lock()
	due := time.Now().Add(-100 * time.Millisecond) // the timer ran 100 ms late
	s.hbDue = due
	s.armPongDeadlineLocked()
	if got := s.hbDue.Sub(due); got != time.Second {
		t.Errorf("deadline %v after the due time, want 1s", got)
	}
	// The deadline passed; the timer (an hour away) has not fired.
	s.awaitPong = true
	s.hbDue = time.Now().Add(-time.Millisecond)
	s.hb.Reset(time.Hour)
	s.mu.Unlock()

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling&sid="+s.ID(), nil))
	if rec.Code != 400 || reason != ReasonPingTimeout || srv.Len() != 0 {
		t.Fatalf("GET after the deadline: %d, reason %q, %d sessions", rec.Code, reason, srv.Len())
	}
}

// TestCloseInOnOpen: a session closed from OnOpen still gets OnOpen first
// and OnClose after it returns; a polling client receives the handshake and
// the close packet together.
func TestCloseInOnOpen(t *testing.T) {
	var order []string
	cfg := quietConfig()
	cfg.Handler = HandlerFuncs{
		Open: func(s *Socket) {
			_ = s.Send([]byte("welcome"), false)
			_ = s.Close()
			order = append(order, "open")
		},
		Close: func(s *Socket, reason Reason, err error) { order = append(order, "close") },
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil))
	body := rec.Body.String()
	parseOpen(t, body)
	if !strings.HasSuffix(body, "\x1e4welcome\x1e1") {
		t.Fatalf("handshake response %q", body)
	}
	if strings.Join(order, ",") != "open,close" || srv.Len() != 0 {
		t.Fatalf("order %v, %d sessions", order, srv.Len())
	}
}

func TestPollingCompression(t *testing.T) {
	for _, tt := range []struct {
		name      string
		threshold int
		accept    string
		size      int
		gzip      bool
	}{
		{"large, gzip accepted", 0, "gzip, deflate", 2000, true},
		{"below threshold", 0, "gzip", 500, false},
		{"not accepted", 0, "", 2000, false},
		{"refused with q=0", 0, "gzip;q=0, deflate", 2000, false},
		{"disabled", -1, "gzip", 2000, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quietConfig()
			cfg.HTTPCompressionThreshold = tt.threshold
			h := newHarness(t, cfg, false)
			sid := h.open()
			s := h.rec.next(t, "open").s
			_ = s.Send([]byte(strings.Repeat("a", tt.size)), false)
			// A raw transport, so that gzip is not undone by the client.
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", h.url+"?EIO=4&transport=polling&sid="+sid, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r io.Reader = resp.Body
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.gzip {
				t.Fatalf("gzip %v, want %v", got, tt.gzip)
			}
			if tt.gzip {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			body, err := io.ReadAll(r)
			if err != nil || string(body) != "4"+strings.Repeat("a", tt.size) {
				t.Fatalf("body of %d bytes, err %v", len(body), err)
			}
		})
	}
}

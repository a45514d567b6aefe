package engineio

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

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
	s := srv.openSession(handshakeRequest(httptestRequest()), nil, time.Now())
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
	s := srv.openSession(handshakeRequest(httptestRequest()), nil, time.Now())
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

	// The ping timer has not even run, and the ping is overdue by more than
	// PingTimeout: the session is dead for the client, hence for a request.
	reason = ""
	s = srv.openSession(handshakeRequest(httptestRequest()), nil, time.Now())
	s.mu.Lock()
	s.queue = nil // the handshake was collected
	s.hbDue = time.Now().Add(-time.Second - time.Millisecond)
	s.hb.Reset(time.Hour)
	s.mu.Unlock()
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("POST", "/engine.io/?EIO=4&transport=polling&sid="+s.ID(), strings.NewReader("3")))
	if rec.Code != 400 || reason != ReasonPingTimeout || srv.Len() != 0 {
		t.Fatalf("POST long after a ping was due: %d, reason %q, %d sessions", rec.Code, reason, srv.Len())
	}
}

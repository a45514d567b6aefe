package engineio

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// The cases of the official Engine.IO v4 test suite
// (socketio/engine.io-protocol, test-suite/test-suite.js), ported so that CI
// checks them without the fetched suite. Names follow the suite's
// describe/it blocks. The server is configured as the suite expects
// (pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, CORS "*") and
// echoes messages; cases that do not test the heartbeat move it out of the
// way, and waits on the server's state replace the suite's sleeps, so that
// the cases hold on a loaded machine.

func TestSuiteHandshakePolling(t *testing.T) {
	h := newHarness(t, suiteConfig(), true)
	t.Run("successfully opens a session", func(t *testing.T) {
		code, body, _ := h.do("GET", "EIO=4&transport=polling", "")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		hd := parseOpen(t, body)
		if hd.SID == "" || len(hd.Upgrades) != 1 || hd.Upgrades[0] != "websocket" ||
			hd.PingInterval != 300 || hd.PingTimeout != 200 || hd.MaxPayload != 1000000 {
			t.Fatalf("handshake %+v", hd)
		}
	})
	for _, tt := range []struct{ name, method, query string }{
		{"fails with an invalid 'EIO' query parameter (missing)", "GET", "transport=polling"},
		{"fails with an invalid 'EIO' query parameter (abc)", "GET", "EIO=abc&transport=polling"},
		{"fails with an invalid 'transport' query parameter (missing)", "GET", "EIO=4"},
		{"fails with an invalid 'transport' query parameter (abc)", "GET", "EIO=4&transport=abc"},
		{"fails with an invalid request method (post)", "POST", "EIO=4&transport=polling"},
		{"fails with an invalid request method (put)", "PUT", "EIO=4&transport=polling"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body, _ := h.do(tt.method, tt.query, ""); code != 400 {
				t.Fatalf("status %d %s, want 400", code, body)
			}
		})
	}
	// Rejected requests make no session (the successful one may already
	// have timed out on a slow machine).
	if n := h.srv.Len(); n > 1 {
		t.Fatalf("%d sessions, want at most 1 (the successful handshake)", n)
	}
}

func TestSuiteHandshakeWebSocket(t *testing.T) {
	h := newHarness(t, suiteConfig(), true)
	t.Run("successfully opens a session", func(t *testing.T) {
		c := h.mustDial("EIO=4&transport=websocket")
		hd := parseOpen(t, readText(t, c))
		if hd.SID == "" || hd.Upgrades == nil || len(hd.Upgrades) != 0 ||
			hd.PingInterval != 300 || hd.PingTimeout != 200 || hd.MaxPayload != 1000000 {
			t.Fatalf("handshake %+v", hd)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	})
	for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"} {
		t.Run("fails with invalid query "+q, func(t *testing.T) {
			if c, err := h.dial(q); err == nil {
				_ = c.CloseNow()
				t.Fatal("dial succeeded")
			}
		})
	}
}

func TestSuiteMessagePolling(t *testing.T) {
	h := newHarness(t, suiteQuietConfig(), true)
	for _, tt := range []struct{ name, payload string }{
		{"sends and receives a payload containing one plain text packet", "4hello"},
		{"sends and receives a payload containing several plain text packets", "4test1\x1e4test2\x1e4test3"},
		{"sends and receives a payload containing plain text and binary packets", "4hello\x1ebAQIDBA=="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sid := h.open()
			if code, body := h.post(sid, tt.payload); code != 200 || body != "ok" {
				t.Fatalf("POST: %d %q", code, body)
			}
			if code, body := h.poll(sid); code != 200 || body != tt.payload {
				t.Fatalf("GET: %d %q, want %q", code, body, tt.payload)
			}
		})
	}
	t.Run("closes the session upon invalid packet format", func(t *testing.T) {
		sid := h.open()
		if code, _ := h.post(sid, "abc"); code != 400 {
			t.Fatalf("POST status %d, want 400", code)
		}
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("GET status %d, want 400", code)
		}
	})
	t.Run("closes the session upon duplicate poll requests", func(t *testing.T) {
		sid := h.open()
		var wg sync.WaitGroup
		var code1 int
		var body1 string
		wg.Add(1)
		go func() {
			defer wg.Done()
			code1, body1, _ = h.do("GET", "EIO=4&transport=polling&sid="+sid, "")
		}()
		s := h.session(sid)
		eventually(t, "first poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
		code2, _, _ := h.do("GET", "EIO=4&transport=polling&sid="+sid+"&t=burst", "")
		wg.Wait()
		if code1 != 200 || body1 != "1" {
			t.Fatalf("first poll: %d %q, want 200 \"1\"", code1, body1)
		}
		if code2 != 400 {
			t.Fatalf("second poll: %d, want 400", code2)
		}
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("poll after: %d, want 400", code)
		}
	})
}

// session returns the live session sid.
func (h *harness) session(sid string) *Socket {
	h.t.Helper()
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	s := h.srv.sessions[sid]
	if s == nil {
		h.t.Fatalf("no session %s", sid)
	}
	return s
}

func TestSuiteMessageWebSocket(t *testing.T) {
	h := newHarness(t, suiteQuietConfig(), true)
	t.Run("sends and receives a plain text packet", func(t *testing.T) {
		c := h.mustDial("EIO=4&transport=websocket")
		readText(t, c)
		write(t, c, "4hello")
		if got := readText(t, c); got != "4hello" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("sends and receives a binary packet", func(t *testing.T) {
		c := h.mustDial("EIO=4&transport=websocket")
		readText(t, c)
		if err := c.Write(context.Background(), websocket.BinaryMessage, []byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		typ, got := read(t, c)
		if typ != websocket.BinaryMessage || got != "\x01\x02\x03\x04" {
			t.Fatalf("got %v %q", typ, got)
		}
	})
	t.Run("closes the session upon invalid packet format", func(t *testing.T) {
		c := h.mustDial("EIO=4&transport=websocket")
		readText(t, c)
		write(t, c, "abc")
		waitClosed(t, c)
	})
}

func TestSuiteHeartbeat(t *testing.T) {
	h := newHarness(t, suiteConfig(), true)
	// The ping/pong cases answer within 200 ms in the suite; here the
	// timeout is generous so that a loaded machine cannot fail them.
	cfg := suiteConfig()
	cfg.PingTimeout = 3 * time.Second
	slow := newHarness(t, cfg, true)
	t.Run("HTTP long-polling sends ping/pong packets", func(t *testing.T) {
		h := slow
		sid := h.open()
		for range 3 {
			if code, body := h.poll(sid); code != 200 || body != "2" {
				t.Fatalf("GET: %d %q, want ping", code, body)
			}
			if code, _ := h.post(sid, "3"); code != 200 {
				t.Fatalf("POST pong: %d", code)
			}
		}
	})
	t.Run("HTTP long-polling closes the session upon ping timeout", func(t *testing.T) {
		sid := h.open()
		s := h.rec.next(t, "open").s // the session may be gone already on a slow machine
		eventually(t, "session removed", func() bool { return !h.has(sid) })
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("GET after timeout: %d, want 400", code)
		}
		s.mu.Lock()
		reason := s.reason
		s.mu.Unlock()
		if reason != ReasonPingTimeout {
			t.Fatalf("reason %q", reason)
		}
	})
	t.Run("WebSocket sends ping/pong packets", func(t *testing.T) {
		h := slow
		c := h.mustDial("EIO=4&transport=websocket")
		readText(t, c)
		for range 3 {
			if got := readText(t, c); got != "2" {
				t.Fatalf("got %q, want ping", got)
			}
			write(t, c, "3")
		}
	})
	t.Run("WebSocket closes the session upon ping timeout", func(t *testing.T) {
		c := h.mustDial("EIO=4&transport=websocket")
		start := time.Now()
		waitClosed(t, c)
		// The close comes after one ping interval and one timeout.
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Fatalf("closed after %v, before pingInterval+pingTimeout", d)
		}
	})
}

func (h *harness) has(sid string) bool {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	return h.srv.sessions[sid] != nil
}

func TestSuiteClose(t *testing.T) {
	h := newHarness(t, suiteQuietConfig(), true)
	t.Run("HTTP long-polling forcefully closes the session", func(t *testing.T) {
		sid := h.open()
		var wg sync.WaitGroup
		var code int
		var body string
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body = h.poll(sid)
		}()
		s := h.session(sid)
		eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
		if c, _ := h.post(sid, "1"); c != 200 {
			t.Fatalf("POST close: %d", c)
		}
		wg.Wait()
		if code != 200 || body != "6" {
			t.Fatalf("pending poll: %d %q, want noop", code, body)
		}
		if c, _ := h.poll(sid); c != 400 {
			t.Fatalf("GET after close: %d, want 400", c)
		}
	})
	t.Run("WebSocket forcefully closes the session", func(t *testing.T) {
		c := h.mustDial("EIO=4&transport=websocket")
		readText(t, c)
		write(t, c, "1")
		waitClosed(t, c)
	})
}

func TestSuiteUpgrade(t *testing.T) {
	h := newHarness(t, suiteQuietConfig(), true)
	t.Run("successfully upgrades from HTTP long-polling to WebSocket", func(t *testing.T) {
		sid := h.open()
		c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
		write(t, c, "2probe")
		if got := readText(t, c); got != "3probe" {
			t.Fatalf("probe answer %q", got)
		}
		if code, body := h.poll(sid); code != 200 || body != "6" {
			t.Fatalf("poll during upgrade: %d %q, want noop", code, body)
		}
		write(t, c, "5")
		write(t, c, "4hello")
		if got := readText(t, c); got != "4hello" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("ignores HTTP requests with same sid after upgrade", func(t *testing.T) {
		sid := h.open()
		c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
		write(t, c, "2probe")
		write(t, c, "5")
		if got := readText(t, c); got != "3probe" {
			t.Fatalf("probe answer %q", got)
		}
		s := h.session(sid)
		eventually(t, "upgrade", func() bool { return s.Transport() == WebSocket })
		if code, _ := h.poll(sid); code != 400 {
			t.Fatalf("poll after upgrade: %d, want 400", code)
		}
		write(t, c, "4hello")
		if got := readText(t, c); got != "4hello" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("ignores WebSocket connection with same sid after upgrade", func(t *testing.T) {
		sid := h.open()
		c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
		write(t, c, "2probe")
		write(t, c, "5")
		if got := readText(t, c); got != "3probe" {
			t.Fatalf("probe answer %q", got)
		}
		s := h.session(sid)
		eventually(t, "upgrade", func() bool { return s.Transport() == WebSocket })
		c2 := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
		waitClosed(t, c2)
		write(t, c, "4hello")
		if got := readText(t, c); got != "4hello" {
			t.Fatalf("got %q", got)
		}
	})
}

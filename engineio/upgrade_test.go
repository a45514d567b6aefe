package engineio

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestUpgradeFlushesQueue: packets sent while the client is between probe
// and upgrade wait in the session's queue and reach the new transport, in
// order, before anything sent later.
func TestUpgradeFlushesQueue(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	s := h.rec.next(t, "open").s
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe %q", got)
	}
	for i := range 3 {
		if err := s.Send(fmt.Appendf(nil, "q%d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Send([]byte{9}, true)
	write(t, c, "5")
	eventually(t, "upgrade", func() bool { return s.Transport() == WebSocket })
	_ = s.Send([]byte("after"), false)
	for _, want := range []string{"4q0", "4q1", "4q2"} {
		if got := readText(t, c); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if typ, got := read(t, c); typ != websocket.BinaryMessage || got != "\x09" {
		t.Fatalf("got %v %q, want binary 09", typ, got)
	}
	if got := readText(t, c); got != "4after" {
		t.Fatalf("got %q", got)
	}
	// Messages now arrive over WebSocket.
	write(t, c, "4up")
	if e := h.rec.next(t, "message"); e.data != "up" || e.s != s {
		t.Fatalf("message %+v", e)
	}
}

// TestUpgradePendingPollGetsNoop: once the probe is answered, a pending GET
// that nothing else answers ends with a noop (after the reference's 100 ms
// check interval), so that the client can pause polling.
func TestUpgradePendingPollGetsNoop(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	s := h.session(sid)
	res := make(chan string, 1)
	go func() { _, body := h.poll(sid); res <- body }()
	eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe %q", got)
	}
	select {
	case body := <-res:
		if body != "6" {
			t.Fatalf("pending poll got %q", body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending poll not answered")
	}
	write(t, c, "5")
	eventually(t, "upgrade", func() bool { return s.Transport() == WebSocket })
}

// TestUpgradePollAnsweredByPacketsNotNoop: socket.io-client's "should not
// emit a packet twice in the 'connect' handler" counts the packets a client
// receives while it upgrades. With the reference (engine.io lib/socket.ts,
// _maybeUpgrade) the probe does not end the pending poll: a noop comes only
// from the 100 ms check interval, so a poll that packets answer first, as
// the connect handler's acknowledgement did there, carries no noop. The
// interval is made long here so that only the probe could have answered
// the poll early.
func TestUpgradePollAnsweredByPacketsNotNoop(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	h.srv.upgradeNoopEvery = time.Hour
	sid := h.open()
	s := h.rec.next(t, "open").s
	pollBody := func() <-chan string {
		res := make(chan string, 1)
		go func() { _, body := h.poll(sid); res <- body }()
		eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
		return res
	}
	res := pollBody()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe %q", got)
	}
	if err := s.Send([]byte("30[null]"), false); err != nil {
		t.Fatal(err)
	}
	if body := <-res; body != "430[null]" {
		t.Fatalf("poll pending at the probe got %q, want the packet sent after it", body)
	}
	// A poll that arrives while probed waits for packets too.
	res = pollBody()
	if err := s.Send([]byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if body := <-res; body != "4x" {
		t.Fatalf("poll after the probe got %q, want 4x", body)
	}
	// The upgrade packet ends a poll still pending with a noop.
	res = pollBody()
	write(t, c, "5")
	if body := <-res; body != "6" {
		t.Fatalf("poll pending at the upgrade got %q, want noop", body)
	}
	eventually(t, "upgrade", func() bool { return s.Transport() == WebSocket })
}

// TestUpgradeTimeout: a probe that does not complete the upgrade within
// UpgradeTimeout is closed; the session carries on over polling.
func TestUpgradeTimeout(t *testing.T) {
	cfg := quietConfig()
	cfg.UpgradeTimeout = 50 * time.Millisecond
	h := newHarness(t, cfg, true)
	sid := h.open()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe %q", got)
	}
	waitClosed(t, c)
	h.post(sid, "4still")
	if code, body := h.poll(sid); code != 200 || body != "4still" {
		t.Fatalf("polling after failed upgrade: %d %q", code, body)
	}
}

// TestUpgradeAbandoned: a probe connection that sends anything but the
// probe and upgrade packets, or goes away, leaves the session on polling.
func TestUpgradeAbandoned(t *testing.T) {
	h := newHarness(t, quietConfig(), true)
	for _, bad := range []string{"4data", "2notprobe", "xyz"} {
		sid := h.open()
		c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
		write(t, c, bad)
		waitClosed(t, c)
		h.post(sid, "4alive")
		if code, body := h.poll(sid); code != 200 || body != "4alive" {
			t.Fatalf("after probe sent %q: %d %q", bad, code, body)
		}
	}
	sid := h.open()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	readText(t, c)
	_ = c.CloseNow()
	s := h.session(sid)
	eventually(t, "probe dropped", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.probe == nil })
	h.post(sid, "4back")
	if code, body := h.poll(sid); code != 200 || body != "4back" {
		t.Fatalf("poll after dropped probe: %d %q", code, body)
	}
	// A new upgrade may follow.
	c2 := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c2, "2probe")
	if got := readText(t, c2); got != "3probe" {
		t.Fatalf("second probe %q", got)
	}
	write(t, c2, "5")
	write(t, c2, "4ws")
	if got := readText(t, c2); got != "4ws" {
		t.Fatalf("got %q", got)
	}
}

// TestUpgradeUnknownSID: a WebSocket naming no session is refused with 400.
func TestUpgradeUnknownSID(t *testing.T) {
	h := newHarness(t, quietConfig(), true)
	if c, err := h.dial("EIO=4&transport=websocket&sid=nope"); err == nil {
		_ = c.CloseNow()
		t.Fatal("dial succeeded")
	}
}

// TestUpgradeWhileClosing: the session ends while a probe is open; the
// probe is closed with it.
func TestUpgradeWhileClosing(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	s := h.rec.next(t, "open").s
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	readText(t, c)
	_ = s.Close()
	waitClosed(t, c)
	if code, body := h.poll(sid); code != 200 || body != "1" {
		t.Fatalf("final poll %d %q", code, body)
	}
}

// TestHeartbeatAfterUpgrade: pings move to the new transport and pongs
// arriving there keep the session alive.
func TestHeartbeatAfterUpgrade(t *testing.T) {
	cfg := quietConfig()
	cfg.PingInterval, cfg.PingTimeout = 50*time.Millisecond, 3*time.Second
	h := newHarness(t, cfg, false)
	sid := h.open()
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	readText(t, c)
	write(t, c, "5")
	for range 3 {
		got := readText(t, c)
		if got != "2" {
			t.Fatalf("got %q, want ping", got)
		}
		write(t, c, "3")
	}
	if !h.has(sid) {
		t.Fatal("session gone")
	}
}

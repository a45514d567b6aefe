package engineio

import (
	"testing"
)

// TestWritablePolling: a polling session is writable while nothing waits
// for the client, or while a GET is pending; not once a packet waits for
// the next GET, and not once closed.
func TestWritablePolling(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open() // the handshake GET collected the open packet
	s := h.session(sid)
	if !s.Writable() {
		t.Fatal("idle polling session not writable")
	}
	if err := s.Send([]byte("a"), false); err != nil {
		t.Fatal(err)
	}
	if s.Writable() {
		t.Fatal("writable with a packet waiting and no GET pending")
	}
	if _, body := h.poll(sid); body != "4a" {
		t.Fatalf("poll %q", body)
	}
	if !s.Writable() {
		t.Fatal("not writable after the GET collected the queue")
	}

	res := make(chan string, 1)
	go func() { _, body := h.poll(sid); res <- body }()
	eventually(t, "poll pending", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.poll != nil })
	if !s.Writable() {
		t.Fatal("not writable with a GET pending")
	}
	if err := s.Send([]byte("b"), false); err != nil {
		t.Fatal(err)
	}
	if body := <-res; body != "4b" {
		t.Fatalf("pending poll got %q", body)
	}
	s.Close()
	if s.Writable() {
		t.Fatal("closed session writable")
	}
}

// TestWritableUpgrade: during an upgrade packets wait for the new
// transport, so the session is not writable until the upgrade completes.
func TestWritableUpgrade(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	sid := h.open()
	s := h.session(sid)
	c := h.mustDial("EIO=4&transport=websocket&sid=" + sid)
	write(t, c, "2probe")
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe %q", got)
	}
	if s.Writable() {
		t.Fatal("writable while upgrading")
	}
	write(t, c, "5")
	eventually(t, "upgrade", func() bool { return s.Transport() == WebSocket })
	if !s.Writable() {
		t.Fatal("not writable on an idle WebSocket")
	}
}

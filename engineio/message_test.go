package engineio

import (
	"bytes"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

func TestMessageEncodings(t *testing.T) {
	src := []byte("héllo")
	m := NewMessage(src, false)
	src[0] = 'X'
	if string(m.Data()) != "héllo" || m.Binary() || string(m.record()) != "4héllo" {
		t.Fatalf("text message: %q %q", m.Data(), m.record())
	}
	b := NewMessage([]byte{1, 2, 3, 4}, true)
	if !b.Binary() || !bytes.Equal(b.Data(), []byte{1, 2, 3, 4}) || string(b.record()) != "bAQIDBA==" {
		t.Fatalf("binary message: %q", b.record())
	}
	if got := appendPayload(nil, []*Message{m, b, m}); string(got) != "4héllo\x1ebAQIDBA==\x1e4héllo" {
		t.Fatalf("payload %q", got)
	}
}

// TestBroadcastEncodesOnce sends one Message to several sockets on both
// transports: every client gets it, and the WebSocket frame is prepared once
// and then shared.
func TestBroadcastEncodesOnce(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	var wsClients []*websocket.ClientConn
	var sockets []*Socket
	for range 3 {
		c := h.mustDial("EIO=4&transport=websocket")
		readText(t, c)
		wsClients = append(wsClients, c)
		sockets = append(sockets, h.rec.next(t, "open").s)
	}
	var sids []string
	for range 2 {
		sids = append(sids, h.open())
		sockets = append(sockets, h.rec.next(t, "open").s)
	}
	for _, m := range []*Message{NewMessage([]byte("news"), false), NewMessage([]byte{0xff, 0}, true)} {
		for _, s := range sockets {
			if err := s.SendMessage(m); err != nil {
				t.Fatal(err)
			}
		}
		if m.prep == nil || m.wsSends.Load() != 3 {
			t.Fatalf("prepared %v after %d WebSocket sends", m.prep != nil, m.wsSends.Load())
		}
	}
	for _, c := range wsClients {
		if got := readText(t, c); got != "4news" {
			t.Fatalf("got %q", got)
		}
		if typ, got := read(t, c); typ != websocket.BinaryMessage || got != "\xff\x00" {
			t.Fatalf("got %v %q", typ, got)
		}
	}
	for _, sid := range sids {
		if _, body := h.poll(sid); body != "4news\x1eb/wA=" {
			t.Fatalf("poll %q", body)
		}
	}
}

// TestWebSocketDeliveryOrder: many messages from one client arrive at
// OnMessage in order, one call at a time (the recorder checks overlap).
func TestWebSocketDeliveryOrder(t *testing.T) {
	h := newHarness(t, quietConfig(), false)
	c := h.mustDial("EIO=4&transport=websocket")
	readText(t, c)
	h.rec.next(t, "open")
	const n = 200
	for i := range n {
		write(t, c, "4"+string(rune('a'+i%26)))
	}
	for i := range n {
		if e := h.rec.next(t, "message"); e.data != string(rune('a'+i%26)) {
			t.Fatalf("message %d = %q", i, e.data)
		}
	}
}

// BenchmarkBroadcastPolling measures queuing one shared message to many
// polling sessions (no network: the clients are not polling).
func BenchmarkBroadcastPolling(b *testing.B) {
	srv, err := New(Config{Handler: HandlerFuncs{}, WriteQueueLimit: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	socks := make([]*Socket, n)
	for i := range socks {
		socks[i] = srv.openSession(handshakeRequest(httptestRequest()), nil, time.Now())
	}
	m := NewMessage([]byte(`42["event","a message of a realistic size for chat"]`), false)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range socks {
			if err := s.SendMessage(m); err != nil {
				b.Fatal(err)
			}
		}
		for _, s := range socks {
			s.mu.Lock()
			s.queue, s.queued = s.queue[:0], 0
			s.mu.Unlock()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/send")
}

package signaling

import (
	"errors"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/signaling/message"
)

// brokenRooms is a Rooms whose backend is down, like a cluster store that
// lost its connection.
type brokenRooms struct{}

var errBackend = errors.New("backend unavailable")

func (brokenRooms) Join(_ string, _ Member, _ int, _ func([]message.Peer) []byte, _ []byte, done func(error)) {
	done(errBackend)
}
func (brokenRooms) Leave(string, string, []byte)                       {}
func (brokenRooms) Deliver(_, _, _ string, _ []byte, done func(error)) { done(errBackend) }

// TestRoomsFailure: a failing Rooms is answered with "internal", and the
// socket stays open so the client can retry.
func TestRoomsFailure(t *testing.T) {
	h, _ := newHub(t, Config{Rooms: brokenRooms{}})
	a := connect(t, h)
	a.send(`{"type":"join","room":"r"}`)
	a.expectError(t, message.CodeInternal)
	if a.closed != nil || a.s.Room() != "" {
		t.Fatalf("after a failed join: closed %v, room %q", a.closed, a.s.Room())
	}
}

func TestMemoryRooms(t *testing.T) {
	m := NewMemoryRooms()
	p1, p2 := &fakePeer{}, &fakePeer{}
	welcome := func(others []message.Peer) []byte { return []byte(`w`) }
	// done is called before the method returns.
	result := func(call func(done func(error))) error {
		var got error
		called := false
		call(func(err error) { got, called = err, true })
		if !called {
			t.Fatal("MemoryRooms returned before calling done")
		}
		return got
	}
	if err := result(func(done func(error)) { m.Join("r", Member{ID: "a", Peer: p1}, 1, welcome, []byte(`j`), done) }); err != nil {
		t.Fatal(err)
	}
	if err := result(func(done func(error)) { m.Join("r", Member{ID: "b", Peer: p2}, 1, welcome, []byte(`j`), done) }); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("second join into a room of 1: %v", err)
	}
	if err := result(func(done func(error)) { m.Deliver("r", "b", "a", []byte(`x`), done) }); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("deliver from a non-member: %v", err)
	}
	if err := result(func(done func(error)) { m.Deliver("nope", "a", "a", []byte(`x`), done) }); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("deliver in a missing room: %v", err)
	}
	if m.leave("r", "b", nil) || !m.leave("r", "a", nil) || m.leave("r", "a", nil) {
		t.Fatal("Leave reported the wrong membership")
	}
	if r, n := m.Stats(); r != 0 || n != 0 {
		t.Fatalf("empty rooms kept: %d rooms, %d members", r, n)
	}
	if len(p1.frames) != 1 || string(p1.frames[0]) != "w" || len(p2.frames) != 0 {
		t.Fatalf("frames: %q %q", p1.frames, p2.frames)
	}
}

// heldRooms is MemoryRooms whose joins and deliveries complete only when
// the test releases them, from another goroutine, as a cluster store's do.
type heldRooms struct {
	*MemoryRooms
	mu   sync.Mutex
	held []func()
}

func (h *heldRooms) hold(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = append(h.held, f)
}

func (h *heldRooms) Join(room string, m Member, limit int, welcome func([]message.Peer) []byte, announce []byte, done func(error)) {
	h.hold(func() { h.MemoryRooms.Join(room, m, limit, welcome, announce, done) })
}

func (h *heldRooms) Deliver(room, from, to string, frame []byte, done func(error)) {
	h.hold(func() { h.MemoryRooms.Deliver(room, from, to, frame, done) })
}

// release completes the held calls in order on a goroutine of its own.
func (h *heldRooms) release() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range held {
			f()
		}
	}()
	<-done
}

// TestAsyncRooms: with a Rooms that answers later, frames sent after a join
// wait for it (a peer's offer never overtakes its join), errors come back
// when the answer does, and a peer that disconnects while its join is in
// flight is taken out of the room again.
func TestAsyncRooms(t *testing.T) {
	rooms := &heldRooms{MemoryRooms: NewMemoryRooms()}
	h, _ := newHub(t, Config{Rooms: rooms})
	a, b := connect(t, h), connect(t, h)
	a.send(`{"type":"join","room":"r","name":"Ann"}`)
	rooms.release()
	idA := a.next(t).str("id")

	b.send(`{"type":"join","room":"r","name":"Bob"}`)
	b.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idA)
	b.send(`{"type":"offer","to":"NOBODYNOBODYNOBODYNOBODYNOBODY12","sdp":"v=0"}`)
	b.send(`{"type":"join","room":"r2"}`) // processed after the join: already joined
	b.empty(t)
	a.empty(t)
	if b.s.Room() != "" {
		t.Fatal("joined before the Rooms answered")
	}
	rooms.release() // the join; the offers are issued after it, and held
	if f := b.next(t); f.str("type") != "joined" {
		t.Fatalf("Bob got %s", f["_raw"])
	}
	b.expectError(t, message.CodeAlreadyJoined)
	if f := a.next(t); f.str("type") != "peer-joined" {
		t.Fatalf("Ann got %s", f["_raw"])
	}
	a.empty(t)
	rooms.release() // the offers
	if f := a.next(t); f.str("type") != "offer" || f.str("from") != b.s.ID() {
		t.Fatalf("Ann got %s", f["_raw"])
	}
	b.expectError(t, message.CodeUnknownPeer)

	// Disconnected while joining: the join is undone when it completes.
	c := connect(t, h)
	c.send(`{"type":"join","room":"r","name":"Cy"}`)
	c.s.Disconnect()
	rooms.release()
	if f := c.next(t); f.str("type") != "joined" {
		t.Fatalf("Cy got %s", f["_raw"])
	}
	for _, p := range []client{a, b} {
		if f := p.next(t); f.str("type") != "peer-joined" {
			t.Fatalf("got %s", f["_raw"])
		}
		if f := p.next(t); f.str("type") != "peer-left" {
			t.Fatalf("got %s", f["_raw"])
		}
	}
	if _, n := rooms.Stats(); n != 2 {
		t.Fatalf("%d members, want 2", n)
	}
}

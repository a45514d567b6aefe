package signaling

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/signaling/message"
)

// brokenRooms is a Rooms whose backend is down, like a cluster store that
// lost its connection.
type brokenRooms struct{}

var errBackend = errors.New("backend unavailable")

func (brokenRooms) Join(string, Member, int, func([]message.Peer) []byte, []byte) error {
	return errBackend
}
func (brokenRooms) Leave(string, string, []byte) bool            { return false }
func (brokenRooms) Deliver(string, string, string, []byte) error { return errBackend }

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
	if err := m.Join("r", Member{ID: "a", Peer: p1}, 1, welcome, []byte(`j`)); err != nil {
		t.Fatal(err)
	}
	if err := m.Join("r", Member{ID: "b", Peer: p2}, 1, welcome, []byte(`j`)); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("second join into a room of 1: %v", err)
	}
	if err := m.Deliver("r", "b", "a", []byte(`x`)); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("deliver from a non-member: %v", err)
	}
	if err := m.Deliver("nope", "a", "a", []byte(`x`)); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("deliver in a missing room: %v", err)
	}
	if m.Leave("r", "b", nil) || !m.Leave("r", "a", nil) || m.Leave("r", "a", nil) {
		t.Fatal("Leave reported the wrong membership")
	}
	if r, n := m.Stats(); r != 0 || n != 0 {
		t.Fatalf("empty rooms kept: %d rooms, %d members", r, n)
	}
	if len(p1.frames) != 1 || string(p1.frames[0]) != "w" || len(p2.frames) != 0 {
		t.Fatalf("frames: %q %q", p1.frames, p2.frames)
	}
}

package signaling

import (
	"errors"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/switchboard/switchboard/signaling/message"
)

// Member is one peer in a room.
type Member struct {
	ID   string
	Name string
	// Peer delivers frames to the member. A cluster implementation of Rooms
	// has members without a local Peer.
	Peer Peer
}

// Rooms holds room membership and delivers frames to members. Each method
// changes or reads one room atomically: frames it sends reach each member
// in the order of the changes, so a member never sees peer-left before the
// matching peer-joined, nor a relayed frame from a peer after its peer-left.
//
// The Hub calls Rooms from connection handlers, which run on the WebSocket
// engine's event loops, so no method may block: Join and Deliver report
// their result through done, called exactly once, either before they return
// (MemoryRooms) or later from another goroutine (a cluster implementation
// waiting for its store). Calls of one peer take effect in the order they
// were made: a peer's relayed frames never overtake its join.
//
// MemoryRooms is the single-node implementation; a cluster implementation
// (Redis) can share rooms between nodes behind the same interface. While
// its store is unreachable, a cluster implementation may serve a join from
// its own node's members, as a single node would, and tell the member and
// the other nodes' members about each other once the store is back (each
// peer-joined once).
type Rooms interface {
	// Join adds m to room unless the room already holds limit members
	// (ErrRoomFull). Atomically with the change it sends m the frame built
	// by welcome from the members already in the room (in join order), and
	// sends announce to each of them. Then it calls done.
	Join(room string, m Member, limit int, welcome func(others []message.Peer) []byte, announce []byte, done func(error))
	// Leave removes member id from room, if it is there, and sends
	// announce to the members that remain.
	Leave(room, id string, announce []byte)
	// Deliver sends frame to member to of room if from is a member too,
	// then calls done; otherwise done gets ErrUnknownPeer.
	Deliver(room, from, to string, frame []byte, done func(error))
}

// Errors of Rooms methods.
var (
	ErrRoomFull    = errors.New("signaling: room is full")
	ErrUnknownPeer = errors.New("signaling: no such peer in the room")
)

var _ Rooms = (*MemoryRooms)(nil)

const roomShards = 64

// MemoryRooms is the in-memory Rooms of a single node. Rooms are spread over
// shards, each with its own lock, so joins in different rooms rarely
// contend. Frames are sent with the shard's lock held; Peer.Send does not
// block and does not call back, so this is safe and keeps delivery ordered.
// Every result is known at once: done is called before Join or Deliver
// returns, with no lock held.
type MemoryRooms struct {
	seed   maphash.Seed
	shards [roomShards]roomShard
}

type roomShard struct {
	mu    sync.Mutex
	rooms map[string]*room
}

// room keeps members in join order; rooms are small (Config.MaxRoomSize),
// so a slice beats a map.
type room struct {
	members []Member
}

func (r *room) index(id string) int {
	for i := range r.members {
		if r.members[i].ID == id {
			return i
		}
	}
	return -1
}

// NewMemoryRooms returns an empty in-memory Rooms.
func NewMemoryRooms() *MemoryRooms {
	m := &MemoryRooms{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].rooms = make(map[string]*room)
	}
	return m
}

func (m *MemoryRooms) shard(name string) *roomShard {
	return &m.shards[maphash.String(m.seed, name)%roomShards]
}

// Join implements Rooms; it calls done before it returns.
func (m *MemoryRooms) Join(name string, mem Member, limit int, welcome func([]message.Peer) []byte, announce []byte, done func(error)) {
	done(m.join(name, mem, limit, welcome, announce))
}

func (m *MemoryRooms) join(name string, mem Member, limit int, welcome func([]message.Peer) []byte, announce []byte) error {
	s := m.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[name]
	if r == nil {
		r = &room{}
		s.rooms[name] = r
	}
	if limit > 0 && len(r.members) >= limit {
		return ErrRoomFull
	}
	others := make([]message.Peer, len(r.members))
	for i, o := range r.members {
		others[i] = message.Peer{ID: o.ID, Name: o.Name}
	}
	r.members = append(r.members, mem)
	send(mem.Peer, welcome(others))
	for _, o := range r.members[:len(r.members)-1] {
		send(o.Peer, announce)
	}
	return nil
}

// Leave implements Rooms.
func (m *MemoryRooms) Leave(name, id string, announce []byte) { m.leave(name, id, announce) }

// leave reports whether id was in the room.
func (m *MemoryRooms) leave(name, id string, announce []byte) bool {
	s := m.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[name]
	if r == nil {
		return false
	}
	i := r.index(id)
	if i < 0 {
		return false
	}
	r.members = slices.Delete(r.members, i, i+1) // zeroes the tail: no reference to the departed Peer
	if len(r.members) == 0 {
		delete(s.rooms, name)
		return true
	}
	for _, o := range r.members {
		send(o.Peer, announce)
	}
	return true
}

// Deliver implements Rooms; it calls done before it returns.
func (m *MemoryRooms) Deliver(name, from, to string, frame []byte, done func(error)) {
	done(m.deliver(name, from, to, frame))
}

func (m *MemoryRooms) deliver(name, from, to string, frame []byte) error {
	s := m.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[name]
	if r == nil || r.index(from) < 0 {
		return ErrUnknownPeer
	}
	i := r.index(to)
	if i < 0 {
		return ErrUnknownPeer
	}
	send(r.members[i].Peer, frame)
	return nil
}

// send delivers frame to a local peer. A failed Send needs no action here:
// the transport is already dropping that peer, and its departure will come
// through Leave.
func send(p Peer, frame []byte) {
	if p != nil {
		_ = p.Send(frame)
	}
}

// Stats returns the number of non-empty rooms and of members in them.
func (m *MemoryRooms) Stats() (rooms, members int) {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		rooms += len(s.rooms)
		for _, r := range s.rooms {
			members += len(r.members)
		}
		s.mu.Unlock()
	}
	return rooms, members
}

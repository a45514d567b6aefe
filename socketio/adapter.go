package socketio

import (
	"context"

	"github.com/switchboard/switchboard/socketio/packet"
)

// Adapter keeps the rooms of one namespace and delivers its broadcasts
// (socket.io-adapter). The in-memory MemoryAdapter serves a single node; a
// cluster adapter (Redis) embeds it for the local part and forwards the rest,
// so every operation that can span nodes is part of the interface.
//
// Implementations must be safe for concurrent use and must not call back into
// the Namespace while holding their own locks in a way that can block: the
// namespace calls the adapter without holding its locks.
type Adapter interface {
	// AddAll adds the local socket sid to rooms.
	AddAll(sid string, rooms []string)
	// Del removes the local socket sid from room.
	Del(sid, room string)
	// DelAll removes the local socket sid from every room.
	DelAll(sid string)
	// SocketRooms returns the rooms of the local socket sid.
	SocketRooms(sid string) []string
	// Sockets returns the ids of the local sockets matching opts.
	Sockets(opts BroadcastOptions) []string

	// Broadcast sends p to the matching sockets of every node (of this node
	// only with opts.Local). The packet is encoded once.
	Broadcast(ctx context.Context, p *packet.Packet, opts BroadcastOptions) error
	// BroadcastWithAck sends p, which must ask for an ack, to the matching
	// sockets. onCount is called (possibly once per node) with the number of
	// sockets the packet was sent to; onReply once per reply. A socket that
	// disconnects before replying calls onReply with its error.
	BroadcastWithAck(ctx context.Context, p *packet.Packet, opts BroadcastOptions, onCount func(n int), onReply func(Args, error)) error

	// FetchSockets describes the matching sockets of every node.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketInfo, error)
	// CountSockets counts the matching sockets of every node (of this node
	// only with opts.Local) without describing them, as socket.io's
	// rooms.get(room).size does locally. A cluster adapter that embeds
	// MemoryAdapter must override it, or it counts this node only.
	CountSockets(ctx context.Context, opts BroadcastOptions) (int, error)
	// AddSockets makes the matching sockets of every node join rooms.
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the matching sockets of every node leave rooms.
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the matching sockets of every node.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error
	// ServerSideEmit sends an event to this namespace on the other nodes,
	// where Namespace.HandleServerSideEmit delivers it. With withAck it
	// waits until every other node has answered or ctx ends, and returns
	// the answers so far (with ctx's error if it ended first).
	ServerSideEmit(ctx context.Context, event string, args []any, withAck bool) ([]Args, error)
	// ServerCount is the number of nodes.
	ServerCount(ctx context.Context) (int, error)

	// PersistSession keeps the state of a disconnected socket for
	// connection-state recovery.
	PersistSession(s *Session)
	// RestoreSession returns the session pid with the packets broadcast to it
	// since offset, or nil when it cannot be restored.
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)

	// Close releases the adapter's resources.
	Close() error
}

// BroadcastOptions selects the sockets of a broadcast: those in any of Rooms
// (every socket when empty) and in none of Except.
type BroadcastOptions struct {
	Rooms    []string
	Except   []string
	Local    bool // this node only
	Volatile bool // may be dropped
	Compress bool // hint for the transport; see BroadcastOperator.Compress
}

// SocketInfo describes a socket, local or on another node.
type SocketInfo struct {
	ID        string
	Handshake Handshake
	Rooms     []string
	// Data is the socket's SetData value; for a socket on another node, its
	// JSON encoding (json.RawMessage).
	Data any
}

// Session is the state of a disconnected socket kept for connection-state
// recovery.
type Session struct {
	SID, PID string
	Rooms    []string
	Data     any
	// Missed are the packets broadcast to the socket since the offset the
	// client presented, filled by RestoreSession.
	Missed []*packet.Packet
}

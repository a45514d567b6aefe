package socketio

import (
	"context"
	"sync"

	"github.com/switchboard/switchboard/socketio/packet"
)

// BroadcastOperator selects sockets of a namespace and acts on all of them
// (socket.io's BroadcastOperator). It is an immutable value: every modifier
// returns a new operator.
//
//	nsp.To("room1").Except("room2").Volatile().Emit("tick", n)
type BroadcastOperator struct {
	nsp      *Namespace
	rooms    []string
	except   []string
	local    bool
	volatile bool
	compress bool
}

// To adds rooms to the target set: sockets in any of them are selected.
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = append(append([]string(nil), b.rooms...), rooms...)
	return b
}

// In is the same as To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except excludes the sockets in any of rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(append([]string(nil), b.except...), rooms...)
	return b
}

// Local limits the operation to this node.
func (b BroadcastOperator) Local() BroadcastOperator { b.local = true; return b }

// Volatile lets the transport drop the packet for clients that cannot take it
// right now (see Socket.EmitVolatile), and keeps it out of connection-state
// recovery.
func (b BroadcastOperator) Volatile() BroadcastOperator { b.volatile = true; return b }

// Compress records whether the packet should be compressed. It is passed to
// adapters in BroadcastOptions; WebSocket compression itself is decided per
// connection by the transport.
func (b BroadcastOperator) Compress(on bool) BroadcastOperator { b.compress = on; return b }

func (b BroadcastOperator) opts() BroadcastOptions {
	return BroadcastOptions{Rooms: b.rooms, Except: b.except, Local: b.local, Volatile: b.volatile, Compress: b.compress}
}

// Emit sends an event to the selected sockets. The packet is encoded once.
func (b BroadcastOperator) Emit(event string, args ...any) error {
	if packet.IsReservedEvent(event) {
		return errReserved(event)
	}
	data, atts, err := buildPayload(&event, args)
	if err != nil {
		return err
	}
	p := &packet.Packet{Type: packet.Event, Namespace: b.nsp.name, Data: data, Attachments: atts}
	return b.nsp.adapter.Broadcast(context.Background(), p, b.opts())
}

// EmitWithAck sends an event to the selected sockets and returns their
// replies once every socket has answered (a socket that disconnects counts
// as answered, without a reply). When ctx ends first, the replies so far are
// returned with an *AckError.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if packet.IsReservedEvent(event) {
		return nil, errReserved(event)
	}
	data, atts, err := buildPayload(&event, args)
	if err != nil {
		return nil, err
	}
	p := &packet.Packet{Type: packet.Event, Namespace: b.nsp.name, Data: data, Attachments: atts}

	var (
		mu      sync.Mutex
		replies []Args
		want    int
		got     int
		done    = make(chan struct{})
		closed  bool
	)
	check := func() {
		if !closed && got >= want {
			closed = true
			close(done)
		}
	}
	// onCount may run after some replies: counts from several nodes add up,
	// and "done" is only decided once the adapter has returned.
	counting := true
	onCount := func(n int) {
		mu.Lock()
		want += n
		mu.Unlock()
	}
	onReply := func(a Args, err error) {
		mu.Lock()
		got++
		if err == nil {
			replies = append(replies, a)
		}
		if !counting {
			check()
		}
		mu.Unlock()
	}
	if err := b.nsp.adapter.BroadcastWithAck(ctx, p, b.opts(), onCount, onReply); err != nil {
		return nil, err
	}
	mu.Lock()
	counting = false
	check()
	mu.Unlock()
	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return replies, nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return append([]Args(nil), replies...), &AckError{Event: event, Err: ctx.Err()}
	}
}

// FetchSockets describes the selected sockets of every node.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	infos, err := b.nsp.adapter.FetchSockets(ctx, b.opts())
	if err != nil {
		return nil, err
	}
	out := make([]*RemoteSocket, len(infos))
	for i, info := range infos {
		out[i] = &RemoteSocket{SocketInfo: info, nsp: b.nsp}
	}
	return out, nil
}

// CountSockets counts the selected sockets of every node without describing
// them: FetchSockets copies every socket's handshake and rooms.
func (b BroadcastOperator) CountSockets(ctx context.Context) (int, error) {
	return b.nsp.adapter.CountSockets(ctx, b.opts())
}

// SocketsJoin makes the selected sockets join rooms.
func (b BroadcastOperator) SocketsJoin(rooms ...string) error {
	return b.nsp.adapter.AddSockets(context.Background(), b.opts(), rooms)
}

// SocketsLeave makes the selected sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(rooms ...string) error {
	return b.nsp.adapter.DelSockets(context.Background(), b.opts(), rooms)
}

// DisconnectSockets disconnects the selected sockets; with close their whole
// connections are closed.
func (b BroadcastOperator) DisconnectSockets(close bool) error {
	return b.nsp.adapter.DisconnectSockets(context.Background(), b.opts(), close)
}

// RemoteSocket is a socket returned by FetchSockets, possibly on another node.
// Its methods act through the adapter, so they work wherever the socket is.
type RemoteSocket struct {
	SocketInfo
	nsp *Namespace
}

func (r *RemoteSocket) op() BroadcastOperator {
	return BroadcastOperator{nsp: r.nsp, rooms: []string{r.ID}}
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.op().Emit(event, args...) }

// Join adds the socket to rooms.
func (r *RemoteSocket) Join(rooms ...string) error { return r.op().SocketsJoin(rooms...) }

// Leave removes the socket from rooms.
func (r *RemoteSocket) Leave(rooms ...string) error { return r.op().SocketsLeave(rooms...) }

// Disconnect disconnects the socket.
func (r *RemoteSocket) Disconnect(close bool) error { return r.op().DisconnectSockets(close) }

func errReserved(event string) error {
	return &reservedError{event}
}

type reservedError struct{ event string }

func (e *reservedError) Error() string { return "socketio: " + e.event + " is a reserved event name" }

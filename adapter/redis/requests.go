package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/adapter/redis/wire"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

// ErrTimeout is wrapped by the error of a cluster-wide operation when not
// every other node answered within Options.RequestsTimeout.
var ErrTimeout = errors.New("redisadapter: timeout waiting for other nodes")

// pending is one of our requests waiting for the other nodes' responses.
type pending struct {
	typ  wire.RequestType
	want int // responses expected: the other nodes

	mu      sync.Mutex
	got     int
	sockets []socketio.SocketInfo
	ids     []string
	rooms   []string
	answers []socketio.Args
	done    chan struct{}
}

func (p *pending) add(r *wire.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.got >= p.want {
		return
	}
	switch p.typ {
	case wire.RemoteFetch:
		var socks []wire.FetchedSocket
		if json.Unmarshal(r.Sockets, &socks) != nil {
			return // as the Node.js adapter: a response without sockets does not count
		}
		for _, s := range socks {
			p.sockets = append(p.sockets, socketio.SocketInfo{ID: s.ID, Handshake: decodeHandshake(s.Handshake),
				Rooms: s.Rooms, Data: rawOrNull(s.Data)})
		}
	case wire.Sockets:
		var ids []string
		if json.Unmarshal(r.Sockets, &ids) != nil {
			return
		}
		p.ids = append(p.ids, ids...)
	case wire.AllRooms:
		if r.Rooms == nil {
			return
		}
		p.rooms = append(p.rooms, r.Rooms...)
	case wire.ServerSideEmit:
		p.answers = append(p.answers, socketio.NewArgs([]json.RawMessage{rawOrNull(r.Data)}, nil))
	}
	p.got++
	if p.got == p.want {
		close(p.done)
	}
}

func rawOrNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// request publishes req and waits until every other node (want of them)
// answered, ctx ended or RequestsTimeout passed. The pending state is
// returned in every case, with an error when answers are missing.
func (a *Adapter) request(ctx context.Context, req *wire.Request, want int) (*pending, error) {
	req.UID = a.c.uid
	req.RequestID = newUID() + newUID()
	p := &pending{typ: req.Type, want: want, done: make(chan struct{})}
	payload, err := wire.AppendRequest(nil, req)
	if err != nil {
		return p, err
	}
	a.mu.Lock()
	a.requests[req.RequestID] = p
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.requests, req.RequestID)
		a.mu.Unlock()
	}()
	if !a.c.enqueue(a.requestChannel, payload) {
		return p, fmt.Errorf("redisadapter: request not sent: Redis unavailable or queue full")
	}
	t := time.NewTimer(a.c.opts.RequestsTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = ErrTimeout
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p, fmt.Errorf("redisadapter: request type %d: %d of %d nodes answered: %w", req.Type, p.got, p.want, err)
}

// others is the number of other nodes, 0 when Redis is down (the node then
// acts alone).
func (a *Adapter) others(ctx context.Context) int {
	if !a.c.Ready() {
		return 0
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return 0
	}
	return n - 1
}

// ServerCount implements socketio.Adapter: PUBSUB NUMSUB of the request
// channel, which every node of the namespace subscribes once. It is 1 while
// Redis is unavailable.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if !a.c.Ready() {
		return 1, nil
	}
	res, err := a.c.rdb.PubSubNumSub(ctx, a.requestChannel).Result()
	if err != nil {
		return 1, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return max(1, int(res[a.requestChannel])), nil
}

// FetchSockets implements socketio.Adapter. While Redis is unavailable it
// returns this node's sockets only.
func (a *Adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]socketio.SocketInfo, error) {
	local, err := a.MemoryAdapter.FetchSockets(ctx, opts)
	if err != nil || opts.Local {
		return local, err
	}
	n := a.others(ctx)
	if n <= 0 {
		return local, nil
	}
	o := wireOpts(opts)
	p, err := a.request(ctx, &wire.Request{Type: wire.RemoteFetch, Opts: &o}, n)
	if err != nil {
		return nil, err
	}
	return append(local, p.sockets...), nil
}

// SocketIDs returns the ids of the sockets of every node in any of
// opts.Rooms (all sockets when empty), without their handshakes and data: a
// cheap cluster-wide count, for example of a room's members. It uses the
// SOCKETS request (type 0), which Node.js adapters answer too. Requests with
// opts.Except go through FetchSockets, as SOCKETS carries rooms only.
func (a *Adapter) SocketIDs(ctx context.Context, opts socketio.BroadcastOptions) ([]string, error) {
	if len(opts.Except) > 0 {
		infos, err := a.FetchSockets(ctx, opts)
		ids := make([]string, len(infos))
		for i, info := range infos {
			ids[i] = info.ID
		}
		return ids, err
	}
	ids := a.MemoryAdapter.Sockets(opts)
	if opts.Local {
		return ids, nil
	}
	remote, err := a.remoteIDs(ctx, opts.Rooms)
	if err != nil {
		return nil, err
	}
	return append(ids, remote...), nil
}

// CountSockets implements socketio.Adapter: this node's count plus the ids
// the other nodes return to a SOCKETS request (no handshakes, no data), or,
// with opts.Except, the length of FetchSockets. While Redis is unavailable
// it counts this node only.
func (a *Adapter) CountSockets(ctx context.Context, opts socketio.BroadcastOptions) (int, error) {
	if len(opts.Except) > 0 && !opts.Local {
		infos, err := a.FetchSockets(ctx, opts)
		return len(infos), err
	}
	n, _ := a.MemoryAdapter.CountSockets(ctx, opts)
	if opts.Local {
		return n, nil
	}
	remote, err := a.remoteIDs(ctx, opts.Rooms)
	if err != nil {
		return 0, err
	}
	return n + len(remote), nil
}

// remoteIDs asks the other nodes for the ids of their sockets in any of
// rooms (all when empty); none when this node is alone or Redis is down.
func (a *Adapter) remoteIDs(ctx context.Context, rooms []string) ([]string, error) {
	n := a.others(ctx)
	if n <= 0 {
		return nil, nil
	}
	p, err := a.request(ctx, &wire.Request{Type: wire.Sockets, Rooms: dedupe(rooms)}, n)
	if err != nil {
		return nil, err
	}
	slices.Sort(p.ids)
	return slices.Compact(p.ids), nil
}

// AllRooms returns the rooms of every node (socket.io's adapter.allRooms).
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	rooms := a.localRooms()
	if n := a.others(ctx); n > 0 {
		p, err := a.request(ctx, &wire.Request{Type: wire.AllRooms}, n)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, p.rooms...)
	}
	slices.Sort(rooms)
	return slices.Compact(rooms), nil
}

// localRooms lists the rooms of this node's sockets (socket ids included).
func (a *Adapter) localRooms() []string {
	var rooms []string
	for _, sid := range a.MemoryAdapter.Sockets(socketio.BroadcastOptions{}) {
		rooms = append(rooms, a.SocketRooms(sid)...)
	}
	slices.Sort(rooms)
	return slices.Compact(rooms)
}

// publishOnly sends a request that expects no response.
func (a *Adapter) publishOnly(req *wire.Request) error {
	req.UID = a.c.uid
	payload, err := wire.AppendRequest(nil, req)
	if err != nil {
		return err
	}
	a.c.enqueue(a.requestChannel, payload)
	return nil
}

// AddSockets implements socketio.Adapter (REMOTE_JOIN).
func (a *Adapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.MemoryAdapter.AddSockets(ctx, opts, rooms); err != nil || opts.Local {
		return err
	}
	o := wireOpts(opts)
	return a.publishOnly(&wire.Request{Type: wire.RemoteJoin, Opts: &o, Rooms: rooms})
}

// DelSockets implements socketio.Adapter (REMOTE_LEAVE).
func (a *Adapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	if err := a.MemoryAdapter.DelSockets(ctx, opts, rooms); err != nil || opts.Local {
		return err
	}
	o := wireOpts(opts)
	return a.publishOnly(&wire.Request{Type: wire.RemoteLeave, Opts: &o, Rooms: rooms})
}

// DisconnectSockets implements socketio.Adapter (REMOTE_DISCONNECT).
func (a *Adapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	if err := a.MemoryAdapter.DisconnectSockets(ctx, opts, close); err != nil || opts.Local {
		return err
	}
	o := wireOpts(opts)
	return a.publishOnly(&wire.Request{Type: wire.RemoteDisconnect, Opts: &o, Close: close})
}

// ServerSideEmit implements socketio.Adapter (SERVER_SIDE_EMIT). The event
// and arguments travel as JSON, so they cannot carry binary attachments.
// With withAck it collects one answer per other node.
func (a *Adapter) ServerSideEmit(ctx context.Context, event string, args []any, withAck bool) ([]socketio.Args, error) {
	data, atts, err := packet.AppendArray(nil, nil, append([]any{event}, args...)...)
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		return nil, errors.New("redisadapter: server-side emit cannot carry binary data")
	}
	if !withAck {
		return nil, a.publishOnly(&wire.Request{Type: wire.ServerSideEmit, Data: data})
	}
	n := a.others(ctx)
	if n <= 0 {
		return nil, nil
	}
	p, err := a.request(ctx, &wire.Request{Type: wire.ServerSideEmit, Data: data}, n)
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.answers), err
}

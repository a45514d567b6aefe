package redisadapter

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/adapter/redis/wire"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

// Adapter is the socketio.Adapter of one namespace in a Redis cluster. The
// embedded MemoryAdapter keeps this node's sockets and rooms; the rest goes
// through the Cluster's Redis connections.
type Adapter struct {
	*socketio.MemoryAdapter
	c   *Cluster
	nsp *socketio.Namespace

	channel                 string // "K#N#", broadcasts ("K#N#room#" for one room)
	requestChannel          string // "K-request#N#"
	responseChannel         string // "K-response#N#"
	specificResponseChannel string // "K-response#N#uid#"

	mu       sync.Mutex
	requests map[string]*pending    // our requests waiting for responses
	acks     map[string]*ackRequest // our broadcasts with ack
	persists map[string]time.Time   // when each kept session (by pid) was kept
}

var _ socketio.Adapter = (*Adapter)(nil)

func newAdapter(c *Cluster, nsp *socketio.Namespace) *Adapter {
	k, n := c.opts.Key, nsp.Name()
	return &Adapter{
		MemoryAdapter: socketio.NewMemoryAdapter(nsp), c: c, nsp: nsp,
		channel:                 k + "#" + n + "#",
		requestChannel:          k + "-request#" + n + "#",
		responseChannel:         k + "-response#" + n + "#",
		specificResponseChannel: k + "-response#" + n + "#" + c.uid + "#",
		requests:                map[string]*pending{},
		acks:                    map[string]*ackRequest{},
		persists:                map[string]time.Time{},
	}
}

// Close implements socketio.Adapter: it unsubscribes the namespace. Pending
// requests end with their own timeouts.
func (a *Adapter) Close() error {
	a.c.removeAdapter(a)
	return a.MemoryAdapter.Close()
}

// wireOpts is opts as the adapter sends them: rooms and except without
// duplicates (they are Sets in socket.io).
func wireOpts(opts socketio.BroadcastOptions) wire.Opts {
	o := wire.Opts{Rooms: dedupe(opts.Rooms), Except: dedupe(opts.Except)}
	o.Flags.Volatile = opts.Volatile
	if opts.Compress {
		yes := true
		o.Flags.Compress = &yes
	}
	return o
}

func dedupe(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// localOpts turns received opts into options for this node's sockets.
func localOpts(o *wire.Opts) socketio.BroadcastOptions {
	opts := socketio.BroadcastOptions{Rooms: o.Rooms, Except: o.Except, Local: true, Volatile: o.Flags.Volatile}
	if o.Flags.Compress != nil {
		opts.Compress = *o.Flags.Compress
	}
	return opts
}

func wirePacket(nsp string, p *packet.Packet) *wire.Packet {
	t := int(p.Type)
	switch p.Type {
	case packet.BinaryEvent:
		t = int(packet.Event)
	case packet.BinaryAck:
		t = int(packet.Ack)
	}
	return &wire.Packet{Type: t, Nsp: nsp, Data: p.Data, Attachments: p.Attachments}
}

func localPacket(p *wire.Packet) *packet.Packet {
	t := packet.Type(p.Type)
	switch t {
	case packet.BinaryEvent:
		t = packet.Event
	case packet.BinaryAck:
		t = packet.Ack
	}
	return &packet.Packet{Type: t, Namespace: p.Nsp, Data: p.Data, Attachments: p.Attachments}
}

// Broadcast implements socketio.Adapter: local sockets at once, other nodes
// through the publisher (socket.io#N# or socket.io#N#room# for one room).
func (a *Adapter) Broadcast(ctx context.Context, p *packet.Packet, opts socketio.BroadcastOptions) error {
	if err := a.MemoryAdapter.Broadcast(ctx, p, opts); err != nil {
		return err
	}
	if opts.Local {
		return nil
	}
	m := wire.Broadcast{UID: a.c.uid, Packet: *wirePacket(a.nsp.Name(), p), Opts: wireOpts(opts)}
	payload, err := wire.AppendBroadcast(nil, &m)
	if err != nil {
		return err
	}
	ch := a.channel
	if len(m.Opts.Rooms) == 1 {
		ch += m.Opts.Rooms[0] + "#"
	}
	a.c.enqueue(ch, payload)
	return nil
}

// onBroadcast delivers a broadcast from another node (onmessage). Unlike
// the Node.js adapter it does not skip room channels without local members:
// with connection-state recovery the packet must be kept for this node's
// disconnected sockets of that room.
func (a *Adapter) onBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, a.channel) {
		return
	}
	m, err := wire.DecodeBroadcast(payload)
	if err != nil {
		a.c.log.Debug("redisadapter: bad broadcast", "channel", channel, "err", err)
		return
	}
	if m.UID == a.c.uid || m.Packet.Nsp != a.nsp.Name() {
		return
	}
	// Through MemoryAdapter.Broadcast, so that with connection-state
	// recovery the packet is kept for this node's sockets like a local one.
	_ = a.MemoryAdapter.Broadcast(context.Background(), localPacket(&m.Packet), localOpts(&m.Opts))
}

// ackRequest is one of our broadcasts with ack, waiting for other nodes'
// client counts and replies.
type ackRequest struct {
	onCount func(int)
	onReply func(socketio.Args, error)

	mu      sync.Mutex
	counts  int           // client counts received
	want    int           // client counts expected (other nodes)
	clients int           // sum of the counts received
	replies int           // remote replies received
	done    chan struct{} // closed when counts reaches want
}

// reply records one remote reply.
func (ar *ackRequest) reply() {
	ar.mu.Lock()
	ar.replies++
	ar.mu.Unlock()
}

// complete reports whether every other node sent its count and every remote
// client answered, so that the request can be forgotten before its context
// ends.
func (ar *ackRequest) complete() bool {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.counts >= ar.want && ar.replies >= ar.clients
}

// BroadcastWithAck implements socketio.Adapter. The request goes to the
// other nodes first (type 7, MessagePack); each answers with its client count
// (type 8) and then one reply per client (type 9). BroadcastWithAck returns
// once every other node has sent its count, or after RequestsTimeout, so that
// EmitWithAck knows how many replies to wait for; replies keep arriving until
// ctx ends.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *packet.Packet, opts socketio.BroadcastOptions, onCount func(int), onReply func(socketio.Args, error)) error {
	others := 0
	if !opts.Local && a.c.Ready() {
		if n, err := a.ServerCount(ctx); err == nil {
			others = n - 1
		}
	}
	if others <= 0 {
		return a.MemoryAdapter.BroadcastWithAck(ctx, p, opts, onCount, onReply)
	}
	id := newUID() + newUID()
	ar := &ackRequest{onCount: onCount, onReply: onReply, want: others, done: make(chan struct{})}
	o := wireOpts(opts)
	if dl, ok := ctx.Deadline(); ok {
		o.Flags.Timeout = max(1, time.Until(dl).Milliseconds())
	}
	payload, err := wire.AppendRequest(nil, &wire.Request{UID: a.c.uid, RequestID: id, Type: wire.BroadcastWithAck,
		Packet: wirePacket(a.nsp.Name(), p), Opts: &o})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.acks[id] = ar
	a.mu.Unlock()
	// Replies are accepted until every remote client answered or the
	// caller stops waiting.
	context.AfterFunc(ctx, func() {
		a.mu.Lock()
		delete(a.acks, id)
		a.mu.Unlock()
	})
	if !a.c.enqueue(a.requestChannel, payload) {
		ar.finish()
	}
	if err := a.MemoryAdapter.BroadcastWithAck(ctx, p, opts, onCount, onReply); err != nil {
		return err
	}
	t := time.NewTimer(a.c.opts.RequestsTimeout)
	defer t.Stop()
	select {
	case <-ar.done:
	case <-ctx.Done():
	case <-t.C:
		a.c.log.Debug("redisadapter: not every node sent its client count", "nsp", a.nsp.Name(), "want", others, "got", ar.received())
	}
	return nil
}

func (ar *ackRequest) received() int {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.counts
}

func (ar *ackRequest) finish() {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ar.counts < ar.want {
		ar.counts = ar.want
		close(ar.done)
	}
}

// count records one node's client count.
func (ar *ackRequest) count(n int) {
	ar.onCount(n)
	ar.mu.Lock()
	defer ar.mu.Unlock()
	ar.clients += n
	ar.counts++
	if ar.counts == ar.want {
		close(ar.done)
	}
}

// maxPersistAge bounds how long PersistSession's timestamps are kept; it is
// far above any sensible MaxDisconnectionDuration.
const maxPersistAge = time.Hour

// PersistSession implements socketio.Adapter: the session is kept by the
// embedded MemoryAdapter (this node only), with the time it was kept.
func (a *Adapter) PersistSession(s *socketio.Session) {
	now := time.Now()
	a.mu.Lock()
	a.persists[s.PID] = now
	if len(a.persists)%1024 == 0 {
		for pid, at := range a.persists {
			if now.Sub(at) > maxPersistAge {
				delete(a.persists, pid)
			}
		}
	}
	a.mu.Unlock()
	a.MemoryAdapter.PersistSession(s)
}

// RestoreSession implements socketio.Adapter. A session is not restored if
// Redis was unavailable at any time since it was kept: broadcasts from other
// nodes may have been lost meanwhile, and a recovered socket must miss
// nothing.
func (a *Adapter) RestoreSession(ctx context.Context, pid, offset string) (*socketio.Session, error) {
	a.mu.Lock()
	at, ok := a.persists[pid]
	delete(a.persists, pid)
	a.mu.Unlock()
	s, err := a.MemoryAdapter.RestoreSession(ctx, pid, offset)
	if s == nil || err != nil {
		return s, err
	}
	if !ok || !a.c.Ready() || a.c.lastDown.Load() >= at.UnixNano() {
		a.c.log.Debug("redisadapter: session not restored: Redis was unavailable meanwhile", "nsp", a.nsp.Name(), "pid", pid)
		return nil, nil
	}
	return s, nil
}

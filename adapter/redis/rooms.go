package redisadapter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/signaling/message"
	"github.com/switchboard/switchboard/socketio/packet"
)

// RoomsOptions configure the signaling rooms of a Cluster. The zero value
// means the documented defaults.
type RoomsOptions struct {
	// NodeTTL is how long a node's members outlive its last heartbeat:
	// the peers of a node that died get peer-left within NodeTTL plus
	// HeartbeatInterval. Default 6s.
	NodeTTL time.Duration
	// HeartbeatInterval is how often a node renews its heartbeat and
	// removes the members of dead nodes. Default 2s.
	HeartbeatInterval time.Duration
	// OpTimeout bounds each pipeline of queued Join, Leave and Deliver
	// operations; when it passes they fail (the client gets an internal
	// error). Default 2s.
	OpTimeout time.Duration
	// Queue bounds the operations waiting for Redis; beyond it joins and
	// relays fail at once. Default 4096.
	Queue int
}

// ErrUnavailable is returned by Rooms operations while Redis is unreachable.
var ErrUnavailable = errors.New("redisadapter: Redis unavailable")

// Rooms is a signaling.Rooms shared by every node of the Cluster, so that two
// peers on different nodes find each other.
//
// Membership lives in Redis (one hash per room: id → "seq node name"); every
// change and every relayed frame is published on one channel by a Lua script
// in the same atomic step as the change, so all nodes see them in one order.
// Each node delivers them to its own members. A member that joins records the
// room's sequence number of its join and is sent only later room events: it
// never sees peer-left before the matching peer-joined, nor frames from a
// peer after its peer-left.
//
// Nodes renew a heartbeat key; each node regularly removes the members of
// nodes whose heartbeat expired and announces their peer-left.
//
// Join, Leave and Deliver never wait for Redis: they queue their script for
// one runner goroutine, which sends waiting operations in pipelines and
// completes them in order (the welcome of a join, then its callback), so a
// slow Redis never stalls the WebSocket event loop that called them.
//
// While Redis is unreachable each node serves its rooms like a single node:
// a join succeeds with the room's members on this node (its welcome lists
// them, they get its peer-joined), leaves reach this node's members at once,
// and relays between two members of this node are delivered; relays to a
// member on another node fail with ErrUnavailable. Once Redis is back, the
// next heartbeat announces every member of this node again (a script like
// a join's that keeps a member already there): each one is sent
// peer-joined for the members it was not told about, and the others are
// sent its peer-joined unless they know it already. Each member remembers
// whom it was told about, so no peer-joined or peer-left reaches it twice,
// and none names itself. A room can then hold more than its limit: joins
// during an outage count only this node's members. Events published while
// a node could not reach Redis are lost for its members, as with any
// pub/sub: a peer of another node that left meanwhile is not announced to
// them, unless its own node was cut off too (its heartbeat then
// announces the departure).
type Rooms struct {
	c       *Cluster
	opts    RoomsOptions
	channel string
	prefix  string // of the Redis keys

	q *opQueue[roomOp] // operations for the runner

	seenDown atomic.Int64 // Cluster.lastDown when the heartbeat last announced every member

	mu    sync.Mutex
	local map[string]map[string]*localMember // room → id → member on this node
	order uint64                             // of local joins
}

var _ signaling.Rooms = (*Rooms)(nil)

// phase is where a local member stands with Redis.
type phase uint8

const (
	// phaseJoining: its join script is in flight; room events wait in
	// early.
	phaseJoining phase = iota
	// phasePending: joined while Redis was unreachable; only this node
	// has it. Room events from Redis are not for it: its announcement
	// reconciles what it missed.
	phasePending
	// phaseAnnouncing: its announcement is in flight; room events wait
	// in early.
	phaseAnnouncing
	// phaseJoined: in Redis; it gets the room events after joinSeq.
	phaseJoined
)

type localMember struct {
	peer    signaling.Peer
	name    string
	order   uint64 // local join order
	phase   phase
	prev    phase       // while announcing: the phase to go back to if it fails
	joinSeq int64       // the room's sequence number at its join or last announcement
	early   []roomEvent // events that arrived while joining or announcing
	// known holds the other members it was told about (welcome,
	// peer-joined) and not told left.
	known map[string]struct{}
}

func (lm *localMember) knows(id string) bool {
	_, ok := lm.known[id]
	return ok
}

func (lm *localMember) know(id string) {
	if lm.known == nil {
		lm.known = map[string]struct{}{}
	}
	lm.known[id] = struct{}{}
}

// roomEvent is the message published on the signaling channel.
type roomEvent struct {
	Seq    int64           `json:"seq"`
	Room   string          `json:"room"`
	Except string          `json:"except"`
	To     string          `json:"to"`
	Frame  json.RawMessage `json:"frame"`
	// Op is "join" or "left" for a change of membership (of member
	// Except), "" for a relayed frame.
	Op string `json:"op,omitempty"`
	// Node is the node of the member that joined.
	Node string `json:"node,omitempty"`
}

// maxEarly bounds the events kept for a member whose join is in flight.
const maxEarly = 256

// Rooms returns the cluster's signaling rooms; use it as
// signaling.Config.Rooms. It subscribes the signaling channel and starts the
// node's heartbeat and the operation runner, all stopped by Shutdown.
func (c *Cluster) Rooms(opts RoomsOptions) (*Rooms, error) {
	if opts.NodeTTL < 0 || opts.HeartbeatInterval < 0 || opts.OpTimeout < 0 || opts.Queue < 0 {
		return nil, errors.New("redisadapter: negative value in RoomsOptions")
	}
	if opts.NodeTTL == 0 {
		opts.NodeTTL = 6 * time.Second
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = 2 * time.Second
	}
	if opts.OpTimeout == 0 {
		opts.OpTimeout = 2 * time.Second
	}
	if opts.Queue == 0 {
		opts.Queue = 4096
	}
	if opts.HeartbeatInterval >= opts.NodeTTL {
		return nil, fmt.Errorf("redisadapter: HeartbeatInterval %v must be below NodeTTL %v", opts.HeartbeatInterval, opts.NodeTTL)
	}
	r := &Rooms{c: c, opts: opts, channel: c.opts.Key + "-signal#", prefix: c.opts.Key + "-signal:",
		local: map[string]map[string]*localMember{}, q: newOpQueue[roomOp](opts.Queue)}
	if err := c.listen(r.channel, func(_ string, b []byte) { r.onEvent(b) }, r.heartbeat, r.run); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Rooms) roomKey(room string) string { return r.prefix + "room:" + room }
func (r *Rooms) seqKey(room string) string  { return r.prefix + "seq:" + room }
func (r *Rooms) roomsKey() string           { return r.prefix + "rooms" }
func (r *Rooms) nodeKey(uid string) string  { return r.prefix + "node:" + uid }

// tail is the published event after its "seq" member, which the script
// inserts. op and node are those of roomEvent.
func tail(op, node, room, except, to string, frame []byte) string {
	var b strings.Builder
	if op != "" {
		b.WriteString(`"op":`)
		b.Write(packet.AppendString(nil, op))
		b.WriteByte(',')
	}
	if node != "" {
		b.WriteString(`"node":`)
		b.Write(packet.AppendString(nil, node))
		b.WriteByte(',')
	}
	b.WriteString(`"room":`)
	b.Write(packet.AppendString(nil, room))
	b.WriteString(`,"except":`)
	b.Write(packet.AppendString(nil, except))
	b.WriteString(`,"to":`)
	b.Write(packet.AppendString(nil, to))
	b.WriteString(`,"frame":`)
	b.Write(frame)
	b.WriteByte('}')
	return b.String()
}

var joinScript = redis.NewScript(`
local limit = tonumber(ARGV[3])
if limit > 0 and redis.call('HLEN', KEYS[1]) >= limit then return false end
local seq = redis.call('INCR', KEYS[2])
redis.call('PERSIST', KEYS[2])
local all = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], seq .. ' ' .. ARGV[2])
redis.call('SADD', KEYS[3], ARGV[6])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('PEXPIRE', KEYS[4], ARGV[7])
else
  redis.call('SET', KEYS[4], '0', 'PX', ARGV[7])
end
redis.call('PUBLISH', ARGV[4], '{"seq":' .. seq .. ',' .. ARGV[5])
table.insert(all, 1, seq)
return all
`)

// announceScript puts a member of this node (back) into its room, without
// a limit and keeping its entry if it is there, announces it like a join,
// and returns the sequence number and every member, itself included. Same
// keys and arguments as joinScript's, without the limit.
var announceScript = redis.NewScript(`
local seq = redis.call('INCR', KEYS[2])
redis.call('PERSIST', KEYS[2])
redis.call('HSETNX', KEYS[1], ARGV[1], seq .. ' ' .. ARGV[2])
redis.call('SADD', KEYS[3], ARGV[5])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('PEXPIRE', KEYS[4], ARGV[6])
else
  redis.call('SET', KEYS[4], '0', 'PX', ARGV[6])
end
redis.call('PUBLISH', ARGV[3], '{"seq":' .. seq .. ',' .. ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, seq)
return all
`)

var leaveScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[2])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
redis.call('PUBLISH', ARGV[2], '{"seq":' .. seq .. ',' .. ARGV[3])
return 1
`)

var deliverScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then return 0 end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('PUBLISH', ARGV[3], '{"seq":' .. seq .. ',' .. ARGV[4])
return 1
`)

// roomOp is one queued Join ('j'), Leave ('l'), Deliver ('d') or
// announcement of a member of this node ('a').
type roomOp struct {
	kind     byte
	room, id string // id: the member joining, leaving or announced, or the sender
	to       string
	name     string
	limit    int
	lm       *localMember
	welcome  func([]message.Peer) []byte
	frame    []byte // announce, or the relayed frame
	done     func(error)
}

// push queues op for the runner. It reports false when Redis is down or
// the queue is full.
func (r *Rooms) push(op roomOp) bool {
	return r.c.Ready() && r.q.push(op)
}

// Join implements signaling.Rooms. The member is registered locally at
// once, so that room events published after its join are kept for it;
// the Redis script runs on the runner goroutine, which then sends the
// welcome and calls done. While Redis is unreachable the join is local
// (joinLocalLocked) and done is called before Join returns.
func (r *Rooms) Join(room string, m signaling.Member, limit int, welcome func([]message.Peer) []byte, announce []byte, done func(error)) {
	lm := &localMember{peer: m.Peer, name: m.Name}
	r.mu.Lock()
	if r.local[room] == nil {
		r.local[room] = map[string]*localMember{}
	}
	r.order++
	lm.order = r.order
	r.local[room][m.ID] = lm
	if !r.c.Ready() {
		err := r.joinLocalLocked(room, m.ID, lm, limit, welcome, announce)
		r.mu.Unlock()
		done(err)
		return
	}
	r.mu.Unlock()
	if !r.q.push(roomOp{kind: 'j', room: room, id: m.ID, name: m.Name, limit: limit, lm: lm, welcome: welcome, frame: announce, done: done}) {
		r.forget(room, m.ID, lm)
		done(ErrUnavailable) // the queue is full
	}
}

// joinLocalLocked joins lm as a single node would: against the room's
// members on this node. It stays pending until a heartbeat announces it
// in Redis. r.mu is held.
func (r *Rooms) joinLocalLocked(room, id string, lm *localMember, limit int, welcome func([]message.Peer) []byte, announce []byte) error {
	var others []*localMember
	var ids []string
	for oid, o := range r.local[room] {
		if o != lm && o.phase != phaseJoining {
			others = append(others, o)
			ids = append(ids, oid)
		}
	}
	if limit > 0 && len(others) >= limit {
		r.forgetLocked(room, id, lm)
		return signaling.ErrRoomFull
	}
	idx := make([]int, len(others))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(others[a].order, others[b].order) })
	peers := make([]message.Peer, len(idx))
	for i, j := range idx {
		peers[i] = message.Peer{ID: ids[j], Name: others[j].name}
		lm.know(ids[j])
	}
	lm.phase = phasePending
	if lm.peer != nil {
		_ = lm.peer.Send(welcome(peers))
	}
	// What arrived for it while a join through Redis was in flight (see
	// joined): frames addressed to it still count; room events do not,
	// its announcement reconciles them.
	early := lm.early
	lm.early = nil
	for _, ev := range early {
		if ev.To != "" && lm.peer != nil {
			_ = lm.peer.Send(ev.Frame)
		}
	}
	for _, o := range others {
		if !o.knows(id) {
			o.know(id)
			if o.peer != nil {
				_ = o.peer.Send(announce)
			}
		}
	}
	r.c.log.Debug("redisadapter: signaling join served locally, Redis unavailable", "room", room, "peer", id)
	return nil
}

// joined completes a join with the script's result. A join that failed
// for want of Redis (not a full room) is served locally instead.
func (r *Rooms) joined(op *roomOp, res []any, err error) {
	if err != nil {
		if errors.Is(err, redis.Nil) {
			r.forget(op.room, op.id, op.lm)
			op.done(signaling.ErrRoomFull)
			return
		}
		// The script may have run: a heartbeat announces the member
		// again, and nobody is told twice.
		r.mu.Lock()
		if r.local[op.room][op.id] != op.lm {
			r.mu.Unlock()
			op.done(fmt.Errorf("redisadapter: join: %w", err))
			return
		}
		err = r.joinLocalLocked(op.room, op.id, op.lm, op.limit, op.welcome, op.frame)
		r.mu.Unlock()
		op.done(err)
		return
	}
	seq, _ := res[0].(int64)
	others := parseMembers(res[1:])
	r.mu.Lock()
	lm := op.lm
	lm.joinSeq, lm.phase = seq, phaseJoined
	peers := make([]message.Peer, len(others))
	for i, o := range others {
		peers[i] = o.peer
		lm.know(o.peer.ID)
	}
	if lm.peer != nil {
		_ = lm.peer.Send(op.welcome(peers))
	}
	r.replayLocked(op.id, lm)
	r.mu.Unlock()
	op.done(nil)
}

// replayLocked delivers the events kept while lm was joining or announcing.
func (r *Rooms) replayLocked(id string, lm *localMember) {
	early := lm.early
	lm.early = nil
	for i := range early {
		r.deliverLocked(id, lm, &early[i])
	}
}

// member is one entry of a room's hash.
type member struct {
	seq  int64
	node string
	peer message.Peer
}

// parseMembers reads HGETALL's id, "seq node name" pairs in join order.
func parseMembers(kv []any) []member {
	var ms []member
	for i := 0; i+1 < len(kv); i += 2 {
		id, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		parts := strings.SplitN(v, " ", 3)
		if len(parts) < 3 {
			continue
		}
		seq, _ := strconv.ParseInt(parts[0], 10, 64)
		ms = append(ms, member{seq, parts[1], message.Peer{ID: id, Name: parts[2]}})
	}
	slices.SortFunc(ms, func(a, b member) int { return cmp.Compare(a.seq, b.seq) })
	return ms
}

// forget drops local member id of room, if it is lm (nil: whichever).
func (r *Rooms) forget(room, id string, lm *localMember) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgetLocked(room, id, lm)
}

func (r *Rooms) forgetLocked(room, id string, lm *localMember) *localMember {
	cur, ok := r.local[room][id]
	if !ok || (lm != nil && cur != lm) {
		return nil
	}
	delete(r.local[room], id)
	if len(r.local[room]) == 0 {
		delete(r.local, room)
	}
	return cur
}

// Leave implements signaling.Rooms. The member stops receiving at once;
// its removal from Redis is queued. While Redis is unreachable this node's
// members are told at once, and a later heartbeat removes it from Redis
// and tells the other nodes.
func (r *Rooms) Leave(room, id string, announce []byte) {
	r.mu.Lock()
	lm := r.forgetLocked(room, id, nil)
	if lm != nil && lm.phase == phasePending {
		// Only this node has it.
		r.toldLeftLocked(room, id, announce)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if !r.push(roomOp{kind: 'l', room: room, id: id, frame: announce}) {
		r.mu.Lock()
		r.toldLeftLocked(room, id, announce)
		r.mu.Unlock()
	}
}

// toldLeftLocked sends announce (id's peer-left) to this node's members
// of room that know id.
func (r *Rooms) toldLeftLocked(room, id string, announce []byte) {
	for _, o := range r.local[room] {
		if o.phase == phaseJoining || !o.knows(id) {
			continue
		}
		delete(o.known, id)
		if o.peer != nil {
			_ = o.peer.Send(announce)
		}
	}
}

func (r *Rooms) leave(room, id string, announce []byte) bool {
	ctx, cancel := context.WithTimeout(r.c.ctx, r.opts.OpTimeout)
	defer cancel()
	n, err := leaveScript.Run(ctx, r.c.rdb, []string{r.roomKey(room), r.seqKey(room), r.roomsKey()},
		id, r.channel, tail("left", "", room, id, "", announce), room).Int()
	if err != nil {
		r.c.log.Debug("redisadapter: signaling leave failed", "room", room, "err", err)
		return false
	}
	return n == 1
}

// errRelayUnavailable answers a relay to a member on another node while
// Redis is unreachable.
var errRelayUnavailable = errors.Join(ErrUnavailable,
	message.Errorf(message.CodeInternal, "the peer is on another node, which cannot be reached now; retry later"))

// Deliver implements signaling.Rooms.
// While Redis is unreachable, a frame between two members on this node is
// delivered directly; others fail with ErrUnavailable.
func (r *Rooms) Deliver(room, from, to string, frame []byte, done func(error)) {
	if r.push(roomOp{kind: 'd', room: room, id: from, to: to, frame: frame, done: done}) {
		return
	}
	if r.deliverLocal(room, from, to, frame) {
		done(nil)
		return
	}
	if r.c.Ready() {
		done(ErrUnavailable) // the queue is full
		return
	}
	done(errRelayUnavailable)
}

// deliverLocal sends frame to to if both to and from are joined members on
// this node.
func (r *Rooms) deliverLocal(room, from, to string, frame []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	src, dst := r.local[room][from], r.local[room][to]
	if src == nil || dst == nil || src.phase == phaseJoining || dst.phase == phaseJoining {
		return false
	}
	if dst.peer != nil {
		_ = dst.peer.Send(frame)
	}
	return true
}

// run is the runner goroutine: it sends the queued operations in order, as
// many per pipeline as are waiting (up to maxBatch), and completes them in
// order. Each runs within OpTimeout. Operations left at Shutdown fail with
// ErrClosed.
func (r *Rooms) run() {
	defer r.c.wg.Done()
	batch := make([]roomOp, 0, maxBatch)
	for {
		var ok bool
		if batch, ok = r.q.next(batch, maxBatch, r.c.ctx.Done()); !ok {
			for _, op := range r.q.close() {
				if op.done != nil {
					op.done(ErrClosed)
				}
			}
			return
		}
		r.exec(batch)
		clear(batch)
		batch = batch[:0]
	}
}

func (r *Rooms) exec(batch []roomOp) {
	ctx, cancel := context.WithTimeout(r.c.ctx, r.opts.OpTimeout)
	defer cancel()
	pipe := r.c.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, op := range batch {
		switch op.kind {
		case 'j':
			// The script also refreshes this node's heartbeat key, so
			// that no other node reaps the new member before our next
			// heartbeat.
			cmds[i] = joinScript.Eval(ctx, pipe, []string{r.roomKey(op.room), r.seqKey(op.room), r.roomsKey(), r.nodeKey(r.c.uid)},
				op.id, r.c.uid+" "+op.name, op.limit, r.channel, tail("join", r.c.uid, op.room, op.id, "", op.frame), op.room, r.opts.NodeTTL.Milliseconds())
		case 'a':
			cmds[i] = announceScript.Eval(ctx, pipe, []string{r.roomKey(op.room), r.seqKey(op.room), r.roomsKey(), r.nodeKey(r.c.uid)},
				op.id, r.c.uid+" "+op.name, r.channel, tail("join", r.c.uid, op.room, op.id, "", op.frame), op.room, r.opts.NodeTTL.Milliseconds())
		case 'l':
			cmds[i] = leaveScript.Eval(ctx, pipe, []string{r.roomKey(op.room), r.seqKey(op.room), r.roomsKey()},
				op.id, r.channel, tail("left", "", op.room, op.id, "", op.frame), op.room)
		case 'd':
			cmds[i] = deliverScript.Eval(ctx, pipe, []string{r.roomKey(op.room), r.seqKey(op.room)},
				op.id, op.to, r.channel, tail("", "", op.room, "", op.to, op.frame))
		}
	}
	_, execErr := pipe.Exec(ctx)
	if execErr != nil && !errors.Is(execErr, redis.Nil) {
		r.c.log.Debug("redisadapter: signaling operations failed", "ops", len(batch), "err", execErr)
	}
	for i := range batch {
		op := &batch[i]
		cmd := cmdResult(cmds[i], execErr)
		switch op.kind {
		case 'j':
			res, err := cmd.Slice()
			r.joined(op, res, err)
		case 'a':
			res, err := cmd.Slice()
			r.announced(op, res, err)
		case 'l':
			if err := cmd.Err(); err != nil {
				r.c.log.Debug("redisadapter: signaling leave failed", "room", op.room, "err", err)
				// This node's members hear it now; a heartbeat
				// removes it from Redis and tells the others.
				r.mu.Lock()
				r.toldLeftLocked(op.room, op.id, op.frame)
				r.mu.Unlock()
			}
		case 'd':
			n, err := cmd.Int()
			switch {
			case err != nil:
				op.done(fmt.Errorf("redisadapter: deliver: %w", err))
			case n == 1:
				op.done(nil)
			case r.deliverLocal(op.room, op.id, op.to, op.frame):
				// Two members of this node, one of them not (yet)
				// back in Redis after an outage.
				op.done(nil)
			default:
				op.done(signaling.ErrUnknownPeer)
			}
		}
	}
}

// onEvent delivers a published change or frame to this node's members.
func (r *Rooms) onEvent(payload []byte) {
	var ev roomEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		r.c.log.Debug("redisadapter: bad signaling event", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	members := r.local[ev.Room]
	if ev.To != "" {
		if lm := members[ev.To]; lm != nil {
			r.deliverLocked(ev.To, lm, &ev)
		}
		return
	}
	for id, lm := range members {
		r.deliverLocked(id, lm, &ev)
	}
}

// deliverLocked sends ev to member id if it is meant for it: a relayed
// frame always, a room event only if it happened after the member joined
// and tells it something new.
func (r *Rooms) deliverLocked(id string, lm *localMember, ev *roomEvent) {
	switch lm.phase {
	case phaseJoining, phaseAnnouncing:
		if len(lm.early) < maxEarly {
			lm.early = append(lm.early, *ev)
		}
		return
	case phasePending:
		if ev.To == "" {
			return
		}
	}
	if ev.To == "" {
		if ev.Seq <= lm.joinSeq || ev.Except == id {
			return
		}
		switch ev.Op {
		case "join":
			if lm.knows(ev.Except) || (ev.Node == r.c.uid && r.local[ev.Room][ev.Except] == nil) {
				return // told already, or a member of ours that is gone
			}
			lm.know(ev.Except)
		case "left":
			if !lm.knows(ev.Except) {
				return
			}
			delete(lm.known, ev.Except)
		}
	}
	if lm.peer != nil {
		_ = lm.peer.Send(ev.Frame)
	}
}

// heartbeat renews this node's key and removes the members of dead nodes,
// until the Cluster shuts down.
func (r *Rooms) heartbeat() {
	defer r.c.wg.Done()
	t := time.NewTicker(r.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		if r.c.Ready() {
			r.beat()
		}
		select {
		case <-t.C:
		case <-r.c.ctx.Done():
			return
		}
	}
}

func (r *Rooms) beat() {
	ctx, cancel := context.WithTimeout(r.c.ctx, r.opts.HeartbeatInterval)
	defer cancel()
	prev, err := r.c.rdb.SetArgs(ctx, r.nodeKey(r.c.uid), "1", redis.SetArgs{TTL: r.opts.NodeTTL, Get: true}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return
	}
	r.reap(ctx)
	// First beat, Redis lost our key (restarted, or we were silent past
	// NodeTTL; at most a join set it again, to "0"), or Redis was
	// unreachable since the last announcement: announce every member of
	// this node, since Redis or they may have lost events meanwhile.
	// Otherwise only those that joined while it was unreachable.
	down := r.c.lastDown.Load()
	all := prev != "1" || down != r.seenDown.Load()
	if r.announce(all) && all {
		r.seenDown.Store(down)
	}
}

// announce queues the announcement of this node's members (all, or only
// the pending ones). It reports false if some could not be queued.
func (r *Rooms) announce(all bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for room, ms := range r.local {
		for id, lm := range ms {
			if lm.phase != phasePending && (!all || lm.phase != phaseJoined) {
				continue
			}
			lm.prev, lm.phase = lm.phase, phaseAnnouncing
			if !r.push(roomOp{kind: 'a', room: room, id: id, name: lm.name, lm: lm, frame: message.AppendPeerJoined(nil, id, lm.name)}) {
				lm.phase = lm.prev
				r.replayLocked(id, lm)
				return false
			}
		}
	}
	return true
}

// announced completes an announcement: the member learns of the members
// it was not told about. (Absence from Redis proves no departure: after a
// Redis restart, the members of other nodes are back only once their node
// has announced them.)
func (r *Rooms) announced(op *roomOp, res []any, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lm := op.lm
	if r.local[op.room][op.id] != lm || lm.phase != phaseAnnouncing {
		return // it left meanwhile: its leave comes after this
	}
	if err != nil {
		r.c.log.Debug("redisadapter: signaling announcement failed", "room", op.room, "peer", op.id, "err", err)
		lm.phase = lm.prev
		r.replayLocked(op.id, lm)
		return
	}
	seq, _ := res[0].(int64)
	lm.joinSeq, lm.phase = seq, phaseJoined
	for _, m := range parseMembers(res[1:]) {
		if m.peer.ID == op.id || lm.knows(m.peer.ID) || (m.node == r.c.uid && r.local[op.room][m.peer.ID] == nil) {
			continue
		}
		lm.know(m.peer.ID)
		if lm.peer != nil {
			_ = lm.peer.Send(message.AppendPeerJoined(nil, m.peer.ID, m.peer.Name))
		}
	}
	r.replayLocked(op.id, lm)
}

// reap removes the members of nodes whose heartbeat expired, and this
// node's members that are gone, announcing their departure like a Leave.
func (r *Rooms) reap(ctx context.Context) {
	rooms, err := r.c.rdb.SMembers(ctx, r.roomsKey()).Result()
	if err != nil {
		return
	}
	alive := map[string]bool{r.c.uid: true}
	for _, room := range rooms {
		members, err := r.c.rdb.HGetAll(ctx, r.roomKey(room)).Result()
		if err != nil {
			return
		}
		for id, v := range members {
			parts := strings.SplitN(v, " ", 3)
			if len(parts) < 3 {
				continue
			}
			node := parts[1]
			if node == r.c.uid {
				// Ours but no longer here: it left while Redis was
				// unreachable.
				r.mu.Lock()
				_, here := r.local[room][id]
				r.mu.Unlock()
				if !here && r.leave(room, id, message.AppendPeerLeft(nil, id)) {
					r.c.log.Info("redisadapter: removed a signaling peer that left while Redis was unreachable", "room", room, "peer", id)
				}
				continue
			}
			ok, seen := alive[node]
			if !seen {
				n, err := r.c.rdb.Exists(ctx, r.nodeKey(node)).Result()
				if err != nil {
					return
				}
				ok = n == 1
				alive[node] = ok
			}
			if !ok && r.leave(room, id, message.AppendPeerLeft(nil, id)) {
				r.c.log.Info("redisadapter: removed the signaling peer of a dead node", "room", room, "peer", id, "node", node)
			}
		}
	}
}

// cmdResult is cmd, or, when the pipeline failed before cmd got an answer
// (go-redis leaves such a command without value or error), cmd with the
// pipeline's error.
func cmdResult(cmd *redis.Cmd, execErr error) *redis.Cmd {
	if cmd.Err() == nil && cmd.Val() == nil && execErr != nil && !errors.Is(execErr, redis.Nil) {
		cmd.SetErr(execErr)
	}
	return cmd
}

package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// While Redis is unreachable, joins fail (the client gets an internal
// error), relays succeed only between two members on this node, and leaves
// are local only (announced by a later heartbeat).
type Rooms struct {
	c       *Cluster
	opts    RoomsOptions
	channel string
	prefix  string // of the Redis keys

	q *opQueue[roomOp] // operations for the runner

	mu    sync.Mutex
	local map[string]map[string]*localMember // room → id → member on this node
}

var _ signaling.Rooms = (*Rooms)(nil)

type localMember struct {
	peer    signaling.Peer
	name    string
	joinSeq int64       // 0 while the join is in flight
	early   []roomEvent // events that arrived during the join
}

// roomEvent is the message published on the signaling channel.
type roomEvent struct {
	Seq    int64           `json:"seq"`
	Room   string          `json:"room"`
	Except string          `json:"except"`
	To     string          `json:"to"`
	Frame  json.RawMessage `json:"frame"`
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
// inserts.
func tail(room, except, to string, frame []byte) string {
	var b strings.Builder
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

// roomOp is one queued Join ('j'), Leave ('l') or Deliver ('d').
type roomOp struct {
	kind     byte
	room, id string // id: the member joining or leaving, or the sender
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
// welcome and calls done.
func (r *Rooms) Join(room string, m signaling.Member, limit int, welcome func([]message.Peer) []byte, announce []byte, done func(error)) {
	lm := &localMember{peer: m.Peer, name: m.Name}
	r.mu.Lock()
	if r.local[room] == nil {
		r.local[room] = map[string]*localMember{}
	}
	r.local[room][m.ID] = lm
	r.mu.Unlock()
	if !r.push(roomOp{kind: 'j', room: room, id: m.ID, name: m.Name, limit: limit, lm: lm, welcome: welcome, frame: announce, done: done}) {
		r.forget(room, m.ID, lm)
		done(ErrUnavailable)
	}
}

// joined completes a join with the script's result.
func (r *Rooms) joined(op *roomOp, res []any, err error) {
	if err != nil {
		r.forget(op.room, op.id, op.lm)
		if errors.Is(err, redis.Nil) {
			op.done(signaling.ErrRoomFull)
		} else {
			op.done(fmt.Errorf("redisadapter: join: %w", err))
		}
		return
	}
	seq, _ := res[0].(int64)
	others := parseMembers(res[1:])
	r.mu.Lock()
	op.lm.joinSeq = seq
	if op.lm.peer != nil {
		_ = op.lm.peer.Send(op.welcome(others))
	}
	for _, ev := range op.lm.early {
		r.deliverLocked(op.id, op.lm, &ev)
	}
	op.lm.early = nil
	r.mu.Unlock()
	op.done(nil)
}

// parseMembers reads HGETALL's id, "seq node name" pairs in join order.
func parseMembers(kv []any) []message.Peer {
	type member struct {
		seq  int64
		peer message.Peer
	}
	var ms []member
	for i := 0; i+1 < len(kv); i += 2 {
		id, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		parts := strings.SplitN(v, " ", 3)
		if len(parts) < 3 {
			continue
		}
		seq, _ := strconv.ParseInt(parts[0], 10, 64)
		ms = append(ms, member{seq, message.Peer{ID: id, Name: parts[2]}})
	}
	slices.SortFunc(ms, func(a, b member) int { return int(a.seq - b.seq) })
	out := make([]message.Peer, len(ms))
	for i, m := range ms {
		out[i] = m.peer
	}
	return out
}

// forget drops local member id of room, if it is lm (nil: whichever).
func (r *Rooms) forget(room, id string, lm *localMember) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.local[room][id]; !ok || (lm != nil && cur != lm) {
		return
	}
	delete(r.local[room], id)
	if len(r.local[room]) == 0 {
		delete(r.local, room)
	}
}

// Leave implements signaling.Rooms. The member stops receiving at once;
// its removal from Redis is queued. While Redis is unreachable it is
// local only, and a later heartbeat removes it from Redis and announces it.
func (r *Rooms) Leave(room, id string, announce []byte) {
	r.forget(room, id, nil)
	r.push(roomOp{kind: 'l', room: room, id: id, frame: announce})
}

func (r *Rooms) leave(room, id string, announce []byte) bool {
	ctx, cancel := context.WithTimeout(r.c.ctx, r.opts.OpTimeout)
	defer cancel()
	n, err := leaveScript.Run(ctx, r.c.rdb, []string{r.roomKey(room), r.seqKey(room), r.roomsKey()},
		id, r.channel, tail(room, id, "", announce), room).Int()
	if err != nil {
		r.c.log.Debug("redisadapter: signaling leave failed", "room", room, "err", err)
		return false
	}
	return n == 1
}

// Deliver implements signaling.Rooms.
// While Redis is unreachable, a frame between two members on this node is
// delivered directly; others fail with ErrUnavailable.
func (r *Rooms) Deliver(room, from, to string, frame []byte, done func(error)) {
	if r.push(roomOp{kind: 'd', room: room, id: from, to: to, frame: frame, done: done}) {
		return
	}
	if !r.c.Ready() && r.deliverLocal(room, from, to, frame) {
		done(nil)
		return
	}
	done(ErrUnavailable)
}

// deliverLocal sends frame to to if both to and from are joined members on
// this node.
func (r *Rooms) deliverLocal(room, from, to string, frame []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	src, dst := r.local[room][from], r.local[room][to]
	if src == nil || dst == nil || src.joinSeq == 0 || dst.joinSeq == 0 {
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
				op.id, r.c.uid+" "+op.name, op.limit, r.channel, tail(op.room, op.id, "", op.frame), op.room, r.opts.NodeTTL.Milliseconds())
		case 'l':
			cmds[i] = leaveScript.Eval(ctx, pipe, []string{r.roomKey(op.room), r.seqKey(op.room), r.roomsKey()},
				op.id, r.channel, tail(op.room, op.id, "", op.frame), op.room)
		case 'd':
			cmds[i] = deliverScript.Eval(ctx, pipe, []string{r.roomKey(op.room), r.seqKey(op.room)},
				op.id, op.to, r.channel, tail(op.room, "", op.to, op.frame))
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
		case 'l':
			if err := cmd.Err(); err != nil {
				r.c.log.Debug("redisadapter: signaling leave failed", "room", op.room, "err", err)
			}
		case 'd':
			n, err := cmd.Int()
			switch {
			case err != nil:
				op.done(fmt.Errorf("redisadapter: deliver: %w", err))
			case n == 0:
				op.done(signaling.ErrUnknownPeer)
			default:
				op.done(nil)
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
// frame always, a room event only if it happened after the member joined.
func (r *Rooms) deliverLocked(id string, lm *localMember, ev *roomEvent) {
	if lm.joinSeq == 0 {
		if len(lm.early) < maxEarly {
			lm.early = append(lm.early, *ev)
		}
		return
	}
	if ev.To == "" && (ev.Seq <= lm.joinSeq || ev.Except == id) {
		return
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
	if prev != "1" {
		// First beat, or Redis lost our key (restarted, or we were silent
		// past NodeTTL) and at most a join set it again ("0"): put this
		// node's members back.
		r.restore(ctx)
	}
	r.reap(ctx)
}

// restore re-registers this node's members without announcing them.
func (r *Rooms) restore(ctx context.Context) {
	r.mu.Lock()
	type entry struct{ room, id, name string }
	var es []entry
	for room, ms := range r.local {
		for id, lm := range ms {
			if lm.joinSeq != 0 {
				es = append(es, entry{room, id, lm.name})
			}
		}
	}
	r.mu.Unlock()
	for _, e := range es {
		seq, err := r.c.rdb.Incr(ctx, r.seqKey(e.room)).Result()
		if err != nil {
			return
		}
		r.c.rdb.HSetNX(ctx, r.roomKey(e.room), e.id, fmt.Sprintf("%d %s %s", seq, r.c.uid, e.name))
		r.c.rdb.SAdd(ctx, r.roomsKey(), e.room)
	}
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

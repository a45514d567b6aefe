package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/peerjs"
)

// PeerJSOptions configure the PeerJS directory of a Cluster. The zero value
// means the documented defaults.
type PeerJSOptions struct {
	// IDTTL is how long a node's claim on a peer id outlives the node's
	// last refresh: the ids of a node that died can be taken with another
	// token after at most IDTTL (with the same token at once), and their
	// partners on other nodes get LEAVE within IDTTL + RefreshInterval.
	// Default 15s.
	IDTTL time.Duration
	// RefreshInterval is how often a node renews its claims (and claims
	// again the ids Redis lost or that were opened while it was
	// unreachable). Default IDTTL/3.
	RefreshInterval time.Duration
	// Queue bounds the operations (claims, releases, frames) waiting for
	// Redis; beyond it Claim and Send report that they cannot try.
	// Default 4096.
	Queue int
}

// PeerJS is a peerjs.Cluster through Redis: which node holds each peer id
// is a key "K-peerjs:id:<id>" = "<node uid> <token>", set if absent (or held
// with the same token) with a TTL the holding node refreshes; a frame for an
// id is published by a Lua script on the channel of the node that holds it,
// "K-peerjs#<uid>#", in the same step as the lookup.
//
// Operations are queued and run by one goroutine in pipelines, so the
// PeerJS server never waits for Redis and sees the answers in call order.
//
// A node that takes an id over with the same token (peer.reconnect()
// through another node) publishes a notice on the old holder's channel in
// the same script, and the old node closes its socket for the id without
// LEAVE to its partners.
//
// Each node watches the ids of other nodes that exchanged OFFER, ANSWER or
// CANDIDATE with its own ids: when its refresher finds one held by no node
// (or by another token), it reports it to the server as gone
// (peerjs.Inbox.Gone), which sends LEAVE to its partners here. So the
// partners of a peer whose node died or shut down get LEAVE once its id
// expires, within IDTTL + RefreshInterval; a peer that leaves a live node
// is announced by that node after its LeaveGrace, and a partner gets one
// LEAVE whichever comes first. Ids are not reported gone until Redis has
// been reachable for IDTTL, the time live nodes have to put back the ids
// a Redis restart lost.
//
// Guarantee: while Redis is reachable, an id is held by at most one token
// in the cluster. While a node cannot reach Redis it serves ids on its own
// (unique on that node only); when Redis returns, its refresh claims them,
// and a node that finds its id held by another token closes its socket (the
// first claim in Redis wins).
type PeerJS struct {
	c       *Cluster
	opts    PeerJSOptions
	channel string // this node's
	prefix  string // of the Redis keys and node channels

	mu      sync.Mutex
	in      peerjs.Inbox
	held    map[string]string // id → token, held (or to be held) by this node
	pending map[string]int    // claims in flight, by id: not reported lost
	// watch holds the ids of other nodes that exchanged frames with ids
	// here, with their token once seen in Redis ("" before): the
	// refresher reports them gone when no node holds them any more.
	watch map[string]string
	q     *opQueue[pjOp]
}

var _ peerjs.Cluster = (*PeerJS)(nil)

// pjOp is one queued operation; exactly one of claim, release, send.
type pjOp struct {
	kind      byte // 'c' claim, 'r' release, 's' send
	id, token string
	src       string
	typ       peerjs.MessageType
	frame     []byte
	claimDone func(taken bool)
	sendDone  func(delivered bool)
}

// pjMessage is what travels on a node channel.
type pjMessage struct {
	Src   string             `json:"src,omitempty"`
	Dst   string             `json:"dst"`
	Type  peerjs.MessageType `json:"type,omitempty"`
	Frame json.RawMessage    `json:"frame,omitempty"`
	// Lost tells the node that held Dst that another node took it over
	// with the same token.
	Lost bool `json:"lost,omitempty"`
}

// PeerJS returns the cluster's PeerJS directory; use it as
// peerjs.Config.Cluster. It subscribes this node's channel and starts two
// goroutines (the operation runner and the refresher), stopped by Shutdown.
func (c *Cluster) PeerJS(opts PeerJSOptions) (*PeerJS, error) {
	if opts.IDTTL < 0 || opts.RefreshInterval < 0 || opts.Queue < 0 {
		return nil, errors.New("redisadapter: negative value in PeerJSOptions")
	}
	if opts.IDTTL == 0 {
		opts.IDTTL = 15 * time.Second
	}
	if opts.RefreshInterval == 0 {
		opts.RefreshInterval = opts.IDTTL / 3
	}
	if opts.RefreshInterval >= opts.IDTTL {
		return nil, fmt.Errorf("redisadapter: RefreshInterval %v must be below IDTTL %v", opts.RefreshInterval, opts.IDTTL)
	}
	if opts.Queue == 0 {
		opts.Queue = 4096
	}
	p := &PeerJS{
		c: c, opts: opts, prefix: c.opts.Key + "-peerjs",
		held: map[string]string{}, pending: map[string]int{}, watch: map[string]string{}, q: newOpQueue[pjOp](opts.Queue),
	}
	p.channel = p.nodeChannel(c.uid)
	if err := c.listen(p.channel, func(_ string, b []byte) { p.onMessage(b) }, p.run, p.refresher); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PeerJS) idKey(id string) string        { return p.prefix + ":id:" + id }
func (p *PeerJS) nodeChannel(uid string) string { return p.prefix + "#" + uid + "#" }

// Attach implements peerjs.Cluster.
func (p *PeerJS) Attach(in peerjs.Inbox) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.in != nil {
		return errors.New("redisadapter: PeerJS already attached to a server")
	}
	p.in = in
	return nil
}

func (p *PeerJS) inbox() peerjs.Inbox {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.in
}

// push queues op unless Redis is down or the queue is full.
func (p *PeerJS) push(op pjOp) bool {
	return p.c.Ready() && p.q.push(op)
}

// Claim implements peerjs.Cluster.
func (p *PeerJS) Claim(id, token string, done func(taken bool)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held[id] = token // if it cannot be claimed now, the refresher claims it
	if !p.push(pjOp{kind: 'c', id: id, token: token, claimDone: done}) {
		return false
	}
	p.pending[id]++
	return true
}

// claimed records the end of a claim.
func (p *PeerJS) claimed(id, token string, taken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending[id]--; p.pending[id] <= 0 {
		delete(p.pending, id)
	}
	if taken && p.held[id] == token {
		delete(p.held, id)
	}
}

// Release implements peerjs.Cluster.
func (p *PeerJS) Release(id string) {
	p.mu.Lock()
	delete(p.held, id)
	p.mu.Unlock()
	p.push(pjOp{kind: 'r', id: id}) // if Redis is down the key expires
}

// Send implements peerjs.Cluster.
func (p *PeerJS) Send(src, dst string, t peerjs.MessageType, frame []byte, done func(delivered bool)) bool {
	return p.push(pjOp{kind: 's', id: dst, src: src, typ: t, frame: frame, sendDone: done})
}

// KEYS[1] id key; ARGV: node uid, token, TTL ms, channel prefix, the
// lost notice. 1 = held, 0 = taken. Taking an id over from another node
// (same token) tells that node at once on its channel.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
local prev = nil
if v then
  local sp = string.find(v, ' ', 1, true)
  if string.sub(v, sp + 1) ~= ARGV[2] then return 0 end
  prev = string.sub(v, 1, sp - 1)
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
if prev and prev ~= ARGV[1] then
  redis.call('PUBLISH', ARGV[4] .. prev .. '#', ARGV[5])
end
return 1
`)

// KEYS[1] id key; ARGV: node uid.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then redis.call('DEL', KEYS[1]) end
return 0
`)

// KEYS[1] id key; ARGV: channel prefix, message. The number of nodes that
// received it (0: nobody holds the id, or its node is gone).
var relayScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
return redis.call('PUBLISH', ARGV[1] .. string.sub(v, 1, string.find(v, ' ', 1, true) - 1) .. '#', ARGV[2])
`)

// KEYS: id keys; ARGV: node uid, TTL ms, then one token per key. Returns
// the 1-based indexes of the keys another node holds.
var refreshScript = redis.NewScript(`
local lost = {}
local mine = ARGV[1] .. ' '
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then
    redis.call('SET', k, mine .. ARGV[i + 2], 'PX', ARGV[2])
  elseif string.sub(v, 1, #mine) == mine then
    redis.call('PEXPIRE', k, ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost
`)

// run is the operation runner: it sends the queued operations in pipelines
// (up to maxBatch) and calls their callbacks in order, until Shutdown.
func (p *PeerJS) run() {
	defer p.c.wg.Done()
	batch := make([]pjOp, 0, maxBatch)
	for {
		var ok bool
		if batch, ok = p.q.next(batch, maxBatch, p.c.ctx.Done()); !ok {
			// Shutting down: every claim and send gets its answer.
			for _, op := range p.q.close() {
				switch {
				case op.claimDone != nil:
					p.claimed(op.id, op.token, false)
					op.claimDone(false)
				case op.sendDone != nil:
					op.sendDone(false)
				}
			}
			return
		}
		p.exec(batch)
		clear(batch)
		batch = batch[:0]
	}
}

func (p *PeerJS) exec(batch []pjOp) {
	ctx, cancel := context.WithTimeout(p.c.ctx, p.c.opts.RequestsTimeout)
	defer cancel()
	ttl := p.opts.IDTTL.Milliseconds()
	pipe := p.c.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, op := range batch {
		key := []string{p.idKey(op.id)}
		switch op.kind {
		case 'c':
			lost, _ := json.Marshal(pjMessage{Dst: op.id, Lost: true})
			cmds[i] = claimScript.Eval(ctx, pipe, key, p.c.uid, op.token, ttl, p.prefix+"#", lost)
		case 'r':
			cmds[i] = releaseScript.Eval(ctx, pipe, key, p.c.uid)
		case 's':
			msg, _ := json.Marshal(pjMessage{Src: op.src, Dst: op.id, Type: op.typ, Frame: op.frame})
			cmds[i] = relayScript.Eval(ctx, pipe, key, p.prefix+"#", msg)
		}
	}
	_, execErr := pipe.Exec(ctx)
	if execErr != nil {
		p.c.log.Debug("redisadapter: peerjs operations failed", "ops", len(batch), "err", execErr)
	}
	for i, op := range batch {
		n, err := cmdResult(cmds[i], execErr).Int64()
		switch {
		case op.claimDone != nil:
			// Unreachable: served here; the refresher claims it later.
			taken := err == nil && n == 0
			p.claimed(op.id, op.token, taken)
			op.claimDone(taken)
		case op.kind == 's':
			delivered := err == nil && n > 0
			if delivered && op.typ != peerjs.TypeLeave { // a LEAVE to op.id says nothing of op.id
				p.track(op.id, op.typ)
			}
			if op.sendDone != nil {
				op.sendDone(delivered)
			}
		}
	}
}

// track notes a frame of type t exchanged with id, an id of another node:
// watched after OFFER, ANSWER and CANDIDATE, no longer after a LEAVE from
// it.
func (p *PeerJS) track(id string, t peerjs.MessageType) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch t {
	case peerjs.TypeOffer, peerjs.TypeAnswer, peerjs.TypeCandidate:
		if _, ok := p.watch[id]; !ok {
			p.watch[id] = ""
		}
	case peerjs.TypeLeave:
		delete(p.watch, id)
	}
}

// onMessage delivers a frame published for one of this node's ids. It runs
// on the subscriber goroutine.
func (p *PeerJS) onMessage(b []byte) {
	var m pjMessage
	if err := json.Unmarshal(b, &m); err != nil || (len(m.Frame) == 0 && !m.Lost) {
		p.c.log.Debug("redisadapter: bad peerjs message", "err", err)
		return
	}
	if m.Lost {
		p.mu.Lock()
		tok, held := p.held[m.Dst]
		p.mu.Unlock()
		if held {
			p.lose(m.Dst, tok)
		}
		return
	}
	p.track(m.Src, m.Type)
	if in := p.inbox(); in != nil {
		in.Deliver(m.Src, m.Dst, m.Type, m.Frame)
	}
}

// refresher renews this node's claims every RefreshInterval until Shutdown.
func (p *PeerJS) refresher() {
	defer p.c.wg.Done()
	t := time.NewTicker(p.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if p.c.Ready() {
				p.refresh()
				p.checkGone()
			}
		case <-p.c.ctx.Done():
			return
		}
	}
}

func (p *PeerJS) refresh() {
	p.mu.Lock()
	ids := make([]string, 0, len(p.held))
	toks := make([]any, 0, len(p.held))
	for id, tok := range p.held {
		ids = append(ids, id)
		toks = append(toks, tok)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.c.ctx, p.opts.RefreshInterval)
	defer cancel()
	ttl := p.opts.IDTTL.Milliseconds()
	for len(ids) > 0 {
		n := min(len(ids), maxBatch)
		keys := make([]string, n)
		for i, id := range ids[:n] {
			keys[i] = p.idKey(id)
		}
		lost, err := refreshScript.Run(ctx, p.c.rdb, keys, append([]any{p.c.uid, ttl}, toks[:n]...)...).Int64Slice()
		if err != nil {
			p.c.log.Debug("redisadapter: peerjs refresh failed", "err", err)
			return
		}
		for _, i := range lost {
			p.lose(ids[i-1], toks[i-1].(string))
		}
		ids, toks = ids[n:], toks[n:]
	}
}

// checkGone reports to the server the watched ids that no node holds any
// more, or that another token holds: their node died, shut down or
// released them. Not until Redis has been reachable for IDTTL: after a
// Redis restart the ids of live nodes are missing until their next
// refresh.
func (p *PeerJS) checkGone() {
	if time.Since(time.Unix(0, p.c.lastUp.Load())) < p.opts.IDTTL {
		return
	}
	p.mu.Lock()
	ids := make([]string, 0, len(p.watch))
	for id := range p.watch {
		if _, here := p.held[id]; here {
			delete(p.watch, id) // it came to this node: the server knows
			continue
		}
		ids = append(ids, id)
	}
	in := p.in
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.c.ctx, p.opts.RefreshInterval)
	defer cancel()
	for len(ids) > 0 {
		n := min(len(ids), maxBatch)
		keys := make([]string, n)
		for i, id := range ids[:n] {
			keys[i] = p.idKey(id)
		}
		vals, err := p.c.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			p.c.log.Debug("redisadapter: peerjs partner check failed", "err", err)
			return
		}
		var gone []string
		p.mu.Lock()
		for i, id := range ids[:n] {
			tok, watched := p.watch[id]
			if !watched {
				continue
			}
			v, _ := vals[i].(string)
			_, holder, ok := strings.Cut(v, " ")
			switch {
			case !ok: // nobody holds it
			case tok == "":
				p.watch[id] = holder
				continue
			case tok == holder: // still there, maybe on another node
				continue
			}
			delete(p.watch, id)
			gone = append(gone, id)
		}
		p.mu.Unlock()
		if in != nil {
			for _, id := range gone {
				in.Gone(id)
			}
		}
		ids = ids[n:]
	}
}

// lose forgets id, which another node holds now, and tells the server.
func (p *PeerJS) lose(id, token string) {
	p.mu.Lock()
	if p.held[id] != token || p.pending[id] > 0 { // released, or claimed again meanwhile
		p.mu.Unlock()
		return
	}
	delete(p.held, id)
	in := p.in
	p.mu.Unlock()
	p.c.log.Info("redisadapter: a peerjs id held here is held by another node now", "id", id)
	if in != nil {
		in.Lost(id)
	}
}

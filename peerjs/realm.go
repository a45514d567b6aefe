package peerjs

import (
	"bytes"
	"sync"
	"time"
)

// conn is the transport side of one client socket, as the realm sees it.
type conn interface {
	// Send queues a text frame without blocking, keeps nothing of frame,
	// and does not call back into the realm.
	Send(frame []byte) error
	// Close closes the socket after what was queued; it must not block or
	// call back into the realm.
	Close()
}

// realm is the PeerJS server state: clients by id, messages queued for
// absent ids, and who signaled with whom. It is driven by explicit calls
// (open, handle, closed, sweep) with the current time, so it is tested
// without sockets. One mutex guards it all; frames are sent with it held,
// which keeps delivery ordered, since conn.Send neither blocks nor calls
// back. Calls to the Cluster are made with it held too, for the same
// reason; the Cluster's callbacks (claimed, sent) and Inbox calls (deliver,
// lost) take it on the Cluster's goroutines.
type realm struct {
	cfg     *Config
	cluster Cluster // nil when standalone

	mu        sync.Mutex
	clients   map[string]*client
	queues    map[string]*queue // by destination id
	connected int               // clients with a conn
}

type client struct {
	id, token string
	conn      conn      // nil while disconnected (within LeaveGrace)
	lastSeen  time.Time // last frame received
	departed  time.Time // when conn became nil
	partners  map[string]struct{}
	rate      bucket
	queued    int      // messages from this client waiting in queues
	claiming  bool     // waiting for Cluster.Claim; OPEN not sent yet
	early     [][]byte // frames received while claiming
}

// maxEarly bounds the frames kept for a client whose claim is in flight.
const maxEarly = 32

type queue struct {
	created time.Time
	msgs    []queued
}

type queued struct {
	src   string
	typ   MessageType
	frame []byte
}

func newRealm(cfg *Config) *realm {
	return &realm{cfg: cfg, cluster: cfg.Cluster, clients: make(map[string]*client), queues: make(map[string]*queue)}
}

// fail sends a fatal ERROR (or ID-TAKEN) and closes c.
func fail(c conn, t MessageType, msg string) {
	_ = c.Send(appendMsgFrame(nil, t, msg))
	c.Close()
}

// open registers c for id. It returns nil when the socket was refused (it
// has then been sent ERROR or ID-TAKEN and closed).
func (r *realm) open(c conn, key, id, token string, now time.Time) *client {
	switch {
	case key == "" || id == "" || token == "":
		fail(c, TypeError, errInvalidWS)
		return nil
	case key != r.cfg.Key:
		fail(c, TypeError, errInvalidKey)
		return nil
	case !ValidID(id):
		fail(c, TypeError, errInvalidID)
		return nil
	case r.cfg.Auth == nil && !validToken(token):
		fail(c, TypeError, errInvalidWS)
		return nil
	case r.cfg.Auth != nil:
		// Before the id is looked up: a refused token learns nothing
		// about which ids are taken.
		if err := r.cfg.Auth.AuthenticatePeer(token, id); err != nil {
			r.cfg.Logger.Debug("peerjs: token refused", "id", id, "err", err)
			fail(c, TypeError, errInvalidToken)
			return nil
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := r.clients[id]
	switch {
	case cl != nil && cl.token != token:
		fail(c, TypeIDTaken, "ID is taken")
		return nil
	case cl != nil && cl.conn != nil: // the same token takes the id over
		cl.conn.Close()
	case cl != nil: // back within LeaveGrace
		r.connected++
	case r.connected >= r.cfg.ConcurrentLimit:
		fail(c, TypeError, errLimitReached)
		return nil
	default:
		cl = &client{id: id, token: token, partners: make(map[string]struct{})}
		r.clients[id] = cl
		r.connected++
		if r.cluster != nil {
			// The id is reserved here at once; OPEN waits for the
			// cluster's answer (claimed).
			cl.claiming = r.cluster.Claim(id, token, func(taken bool) { r.claimed(cl, taken) })
		}
	}
	cl.conn, cl.lastSeen = c, now
	if !cl.claiming {
		r.opened(cl, now)
	}
	return cl
}

// opened sends OPEN to cl, then the messages queued for its id and the
// frames it sent while its claim was in flight.
func (r *realm) opened(cl *client, now time.Time) {
	c := cl.conn
	_ = c.Send(appendFrame(nil, TypeOpen, "", "", nil))
	if q := r.queues[cl.id]; q != nil {
		delete(r.queues, cl.id)
		for _, m := range q.msgs {
			_ = c.Send(m.frame)
			r.partner(m.src, cl.id)
			r.dequeued(m.src)
		}
	}
	early := cl.early
	cl.early = nil
	for _, data := range early {
		if cl.conn != c {
			return
		}
		r.handleLocked(cl, c, data, now)
	}
}

// claimed is the cluster's answer to the claim of cl's id.
func (r *realm) claimed(cl *client, taken bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clients[cl.id] != cl || !cl.claiming {
		return
	}
	cl.claiming = false
	if taken {
		delete(r.clients, cl.id)
		cl.early = nil
		if c := cl.conn; c != nil {
			cl.conn = nil
			r.connected--
			fail(c, TypeIDTaken, "ID is taken")
		}
		return
	}
	if cl.conn != nil {
		r.opened(cl, r.cfg.Now())
	}
}

// dequeued notes that a message from src left the queues.
func (r *realm) dequeued(src string) {
	if c := r.clients[src]; c != nil && c.queued > 0 {
		c.queued--
	}
}

// partner records that a and b signaled with each other.
func (r *realm) partner(a, b string) {
	if ca := r.clients[a]; ca != nil {
		ca.partners[b] = struct{}{}
	}
	if cb := r.clients[b]; cb != nil {
		cb.partners[a] = struct{}{}
	}
}

// handle processes one frame from cl's socket c. Frames that are not
// valid are dropped: the PeerJS client treats every ERROR as fatal.
func (r *realm) handle(cl *client, c conn, data []byte, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cl.conn != c { // taken over or timed out; the socket is closing
		return
	}
	cl.lastSeen = now
	if cl.claiming {
		if len(cl.early) < maxEarly && len(data) <= r.cfg.MaxMessageSize {
			cl.early = append(cl.early, bytes.Clone(data))
		}
		return
	}
	r.handleLocked(cl, c, data, now)
}

func (r *realm) handleLocked(cl *client, c conn, data []byte, now time.Time) {
	if !cl.rate.take(now, r.cfg.MessageRate, r.cfg.MessageBurst) || len(data) > r.cfg.MaxMessageSize {
		return
	}
	f, ok := decodeFrame(data)
	if !ok {
		return
	}
	switch f.Type {
	case TypeHeartbeat:
	case TypeLeave:
		if f.Dst == "" { // the client says goodbye
			r.depart(cl, now)
			cl.departed = time.Time{} // no grace: it left on purpose
			c.Close()
			return
		}
		r.relay(cl, f, now)
	case TypeOffer, TypeAnswer, TypeCandidate:
		r.relay(cl, f, now)
	}
}

// local returns the client of id if it is connected and open here.
func (r *realm) local(id string) *client {
	if cl := r.clients[id]; cl != nil && cl.conn != nil && !cl.claiming {
		return cl
	}
	return nil
}

func (r *realm) relay(from *client, f clientFrame, now time.Time) {
	if !ValidID(f.Dst) {
		return
	}
	frame := appendFrame(nil, f.Type, from.id, f.Dst, f.Payload)
	if to := r.local(f.Dst); to != nil {
		_ = to.conn.Send(frame)
		if f.Type != TypeLeave {
			r.partner(from.id, to.id)
		}
		return
	}
	// An id unknown here may be on another node; one with messages queued
	// here keeps them in order through the queue (see sweep).
	if r.clients[f.Dst] == nil && r.queues[f.Dst] == nil && r.cluster != nil {
		src, dst, t := from.id, f.Dst, f.Type
		if r.cluster.Send(src, dst, t, frame, func(ok bool) { r.sent(src, dst, t, frame, now, ok) }) {
			return
		}
	}
	if f.Type == TypeLeave {
		return
	}
	r.enqueue(from.id, f.Dst, f.Type, frame, now)
}

// enqueue keeps frame for the absent id dst; beyond the limits src gets
// EXPIRE at once. A new queue expires ExpireTimeout after created.
func (r *realm) enqueue(src, dst string, t MessageType, frame []byte, created time.Time) {
	q := r.queues[dst]
	if q == nil {
		q = &queue{created: created}
		r.queues[dst] = q
	}
	from := r.clients[src] // nil for a sender on another node
	if len(q.msgs) >= r.cfg.MaxQueued || (from != nil && from.queued >= r.cfg.MaxQueued) {
		r.expire(src, dst)
		if len(q.msgs) == 0 {
			delete(r.queues, dst)
		}
		return
	}
	q.msgs = append(q.msgs, queued{src: src, typ: t, frame: frame})
	if from != nil {
		from.queued++
	}
}

// expire tells src (here or on another node) that dst never came.
func (r *realm) expire(src, dst string) {
	frame := appendFrame(nil, TypeExpire, dst, src, nil)
	if c := r.clients[src]; c != nil {
		if c.conn != nil && !c.claiming {
			_ = c.conn.Send(frame)
		}
		return
	}
	if r.cluster != nil {
		r.cluster.Send(dst, src, TypeExpire, frame, nil)
	}
}

// sent is the cluster's answer to Send of a frame from the local src.
func (r *realm) sent(src, dst string, t MessageType, frame []byte, created time.Time, delivered bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if delivered {
		if t != TypeLeave && t != TypeExpire {
			r.partner(src, dst)
		}
		return
	}
	if t == TypeLeave || t == TypeExpire {
		return
	}
	if to := r.local(dst); to != nil { // it connected here meanwhile
		_ = to.conn.Send(frame)
		r.partner(src, dst)
		return
	}
	r.enqueue(src, dst, t, frame, created)
}

// deliver hands a local id a frame from another node. A LEAVE reaches
// only a partner of src, once: the Cluster may have reported src gone
// already.
func (r *realm) deliver(src, dst string, t MessageType, frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t == TypeLeave {
		if to := r.clients[dst]; to != nil {
			if _, ok := to.partners[src]; ok {
				delete(to.partners, src)
				if to.conn != nil && !to.claiming {
					_ = to.conn.Send(frame)
				}
			}
		}
		return
	}
	if to := r.local(dst); to != nil {
		_ = to.conn.Send(frame)
		if t != TypeExpire {
			to.partners[src] = struct{}{}
		}
		return
	}
	if r.clients[dst] != nil && t != TypeLeave && t != TypeExpire {
		r.enqueue(src, dst, t, frame, r.cfg.Now()) // reserved here: it may come back
	}
}

// gone tells the partners of id, an id of another node that no node holds
// any more, that it left (unless NoLeave).
func (r *realm) gone(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, cl := range r.clients {
		if _, ok := cl.partners[id]; !ok {
			continue
		}
		delete(cl.partners, id)
		if !r.cfg.NoLeave && cl.conn != nil && !cl.claiming {
			_ = cl.conn.Send(appendFrame(nil, TypeLeave, id, cl.id, nil))
			n++
		}
	}
	r.cfg.Logger.Debug("peerjs: peer of another node gone", "id", id, "told", n)
}

// lost forgets a client whose id another node took over with its token.
func (r *realm) lost(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := r.clients[id]
	if cl == nil {
		return
	}
	delete(r.clients, id)
	cl.claiming, cl.early = false, nil
	if c := cl.conn; c != nil {
		cl.conn = nil
		r.connected--
		c.Close()
	}
	r.cfg.Logger.Debug("peerjs: id taken over on another node", "id", id)
}

// depart detaches cl from its socket; the id stays reserved until sweep
// removes it after LeaveGrace (at once with NoLeave).
func (r *realm) depart(cl *client, now time.Time) {
	if cl.conn == nil {
		return
	}
	cl.conn = nil
	cl.departed = now
	r.connected--
	if r.cfg.NoLeave {
		r.remove(cl)
	}
}

// remove forgets cl and gives its id back to the cluster.
func (r *realm) remove(cl *client) {
	delete(r.clients, cl.id)
	cl.early = nil
	if r.cluster != nil {
		r.cluster.Release(cl.id)
	}
}

// closed reports that socket c of cl has closed.
func (r *realm) closed(cl *client, c conn, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cl.conn == c {
		r.depart(cl, now)
	}
}

// sweep drops clients silent for AliveTimeout, removes departed clients
// after LeaveGrace (telling their partners LEAVE), expires queues, and
// offers the cluster again the messages queued for ids unknown here.
func (r *realm) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, cl := range r.clients {
		if cl.conn != nil && now.Sub(cl.lastSeen) >= r.cfg.AliveTimeout {
			c := cl.conn
			r.depart(cl, now)
			c.Close()
		}
		if r.clients[id] != cl || cl.conn != nil || now.Sub(cl.departed) < r.cfg.LeaveGrace {
			continue
		}
		r.remove(cl)
		r.cfg.Logger.Debug("peerjs: peer departed", "id", id, "partners", len(cl.partners))
		for p := range cl.partners {
			leave := appendFrame(nil, TypeLeave, id, p, nil)
			pc := r.clients[p]
			if pc == nil {
				if r.cluster != nil {
					r.cluster.Send(id, p, TypeLeave, leave, nil)
				}
				continue
			}
			delete(pc.partners, id)
			if pc.conn != nil && !pc.claiming {
				_ = pc.conn.Send(leave)
			}
		}
	}
	for dst, q := range r.queues {
		if now.Sub(q.created) < r.cfg.ExpireTimeout {
			if r.cluster != nil && r.clients[dst] == nil {
				r.retry(dst, q)
			}
			continue
		}
		delete(r.queues, dst)
		seen := make(map[string]bool, 1)
		for _, m := range q.msgs {
			r.dequeued(m.src)
			if seen[m.src] {
				continue
			}
			seen[m.src] = true
			r.expire(m.src, dst)
		}
	}
}

// retry hands the cluster the messages queued for dst, which is not on
// this node, in order; those it cannot deliver come back to the queue.
func (r *realm) retry(dst string, q *queue) {
	for i, m := range q.msgs {
		src, t, frame, created := m.src, m.typ, m.frame, q.created
		if !r.cluster.Send(src, dst, t, frame, func(ok bool) { r.sent(src, dst, t, frame, created, ok) }) {
			q.msgs = q.msgs[i:] // the rest waits for the next sweep
			return
		}
		r.dequeued(src)
	}
	delete(r.queues, dst)
}

// ids returns the connected ids.
func (r *realm) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, r.connected)
	for id, cl := range r.clients {
		if cl.conn != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// bucket is a token bucket (see signaling's); the zero value starts full.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(burst), b.tokens+d.Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

package peerjs

import (
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
// back.
type realm struct {
	cfg *Config

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
	queued    int // messages from this client waiting in queues
}

type queue struct {
	created time.Time
	msgs    []queued
}

type queued struct {
	src   string
	frame []byte
}

func newRealm(cfg *Config) *realm {
	return &realm{cfg: cfg, clients: make(map[string]*client), queues: make(map[string]*queue)}
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
	}
	cl.conn, cl.lastSeen = c, now
	_ = c.Send(appendFrame(nil, TypeOpen, "", "", nil))
	if q := r.queues[id]; q != nil {
		delete(r.queues, id)
		for _, m := range q.msgs {
			_ = c.Send(m.frame)
			r.partner(m.src, id)
			r.dequeued(m.src)
		}
	}
	return cl
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

func (r *realm) relay(from *client, f clientFrame, now time.Time) {
	if !ValidID(f.Dst) {
		return
	}
	frame := appendFrame(nil, f.Type, from.id, f.Dst, f.Payload)
	if to := r.clients[f.Dst]; to != nil && to.conn != nil {
		_ = to.conn.Send(frame)
		if f.Type != TypeLeave {
			r.partner(from.id, to.id)
		}
		return
	}
	if f.Type == TypeLeave {
		return
	}
	q := r.queues[f.Dst]
	if q == nil {
		q = &queue{created: now}
		r.queues[f.Dst] = q
	}
	if len(q.msgs) >= r.cfg.MaxQueued || from.queued >= r.cfg.MaxQueued {
		_ = from.conn.Send(appendFrame(nil, TypeExpire, f.Dst, from.id, nil))
		if len(q.msgs) == 0 {
			delete(r.queues, f.Dst)
		}
		return
	}
	q.msgs = append(q.msgs, queued{src: from.id, frame: frame})
	from.queued++
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
		delete(r.clients, cl.id)
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
// after LeaveGrace (telling their partners LEAVE), and expires queues.
func (r *realm) sweep(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, cl := range r.clients {
		if cl.conn != nil && now.Sub(cl.lastSeen) >= r.cfg.AliveTimeout {
			c := cl.conn
			r.depart(cl, now)
			c.Close()
		}
		if cl.conn != nil || now.Sub(cl.departed) < r.cfg.LeaveGrace {
			continue
		}
		delete(r.clients, id)
		r.cfg.Logger.Debug("peerjs: peer departed", "id", id, "partners", len(cl.partners))
		for p := range cl.partners {
			pc := r.clients[p]
			if pc == nil {
				continue
			}
			delete(pc.partners, id)
			if pc.conn != nil {
				_ = pc.conn.Send(appendFrame(nil, TypeLeave, id, p, nil))
			}
		}
	}
	for dst, q := range r.queues {
		if now.Sub(q.created) < r.cfg.ExpireTimeout {
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
			if src := r.clients[m.src]; src != nil && src.conn != nil {
				_ = src.conn.Send(appendFrame(nil, TypeExpire, dst, m.src, nil))
			}
		}
	}
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

package socketio

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard/switchboard/socketio/packet"
)

// MemoryAdapter is the single-node Adapter (socket.io-adapter's Adapter and
// SessionAwareAdapter). Cluster adapters embed it for their local part.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room -> socket ids, own rooms excluded
	sids  map[string][]string            // socket id -> its other rooms

	// Connection-state recovery, used only when Config.Recovery is set.
	rmu      sync.Mutex
	sessions map[string]*storedSession // by pid
	expiries []sessionExpiry           // sessions in the order stored, for pruning
	packets  []storedPacket            // in emission order
	prefix   string
	seq      uint64
}

type storedSession struct {
	s  Session
	at time.Time
}

// sessionExpiry is a stored session's place in the pruning order; it is
// stale when the session was restored, or stored again later.
type sessionExpiry struct {
	pid string
	s   *storedSession
}

type storedPacket struct {
	offset string
	at     time.Time
	rooms  []string
	except []string
	p      *packet.Packet
}

var _ Adapter = (*MemoryAdapter)(nil)

// NewMemoryAdapter returns the in-memory adapter of nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{nsp: nsp, rooms: map[string]map[string]struct{}{}, sids: map[string][]string{},
		sessions: map[string]*storedSession{}, prefix: newID()[:8] + "-"}
}

// AddAll implements Adapter.
//
// A socket's own room (its id) is implicit: it is not stored, so an idle
// socket costs one map entry here. A socket cannot leave its own room.
func (a *MemoryAdapter) AddAll(sid string, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	mine, known := a.sids[sid]
	for _, r := range rooms {
		if r == sid || slices.Contains(mine, r) {
			continue
		}
		mine = append(mine, r)
		members := a.rooms[r]
		if members == nil {
			members = map[string]struct{}{}
			a.rooms[r] = members
		}
		members[sid] = struct{}{}
	}
	if !known || len(mine) > 0 {
		a.sids[sid] = mine
	}
}

// Del implements Adapter.
func (a *MemoryAdapter) Del(sid, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mine, ok := a.sids[sid]; ok {
		if i := slices.Index(mine, room); i >= 0 {
			a.sids[sid] = slices.Delete(mine, i, i+1)
		}
	}
	a.leaveLocked(sid, room)
}

func (a *MemoryAdapter) leaveLocked(sid, room string) {
	if members := a.rooms[room]; members != nil {
		delete(members, sid)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

// DelAll implements Adapter.
func (a *MemoryAdapter) DelAll(sid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.sids[sid] {
		a.leaveLocked(sid, r)
	}
	delete(a.sids, sid)
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(sid string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	mine, ok := a.sids[sid]
	if !ok {
		return nil
	}
	out := make([]string, 0, 1+len(mine))
	out = append(append(out, sid), mine...)
	slices.Sort(out)
	return out
}

// RoomSize returns the number of local sockets in room.
func (a *MemoryAdapter) RoomSize(room string) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	n := len(a.rooms[room])
	if _, self := a.sids[room]; self {
		n++
	}
	return n
}

// Sockets implements Adapter.
func (a *MemoryAdapter) Sockets(opts BroadcastOptions) []string {
	var out []string
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.eachLocked(opts, func(sid string) { out = append(out, sid) })
	return out
}

// members calls f for each socket in room, the implicit own room included.
func (a *MemoryAdapter) membersLocked(room string, f func(sid string)) {
	if _, self := a.sids[room]; self {
		f(room)
	}
	for sid := range a.rooms[room] {
		f(sid)
	}
}

// eachLocked calls f once for each socket id matching opts; a.mu is held.
func (a *MemoryAdapter) eachLocked(opts BroadcastOptions, f func(sid string)) {
	var except map[string]struct{}
	if len(opts.Except) > 0 {
		except = map[string]struct{}{}
		for _, r := range opts.Except {
			a.membersLocked(r, func(sid string) { except[sid] = struct{}{} })
		}
	}
	keep := func(sid string) {
		if _, x := except[sid]; !x {
			f(sid)
		}
	}
	switch len(opts.Rooms) {
	case 0:
		for sid := range a.sids {
			keep(sid)
		}
	case 1: // the common case needs no de-duplication
		a.membersLocked(opts.Rooms[0], keep)
	default:
		seen := map[string]struct{}{}
		for _, r := range opts.Rooms {
			a.membersLocked(r, func(sid string) {
				if _, dup := seen[sid]; !dup {
					seen[sid] = struct{}{}
					keep(sid)
				}
			})
		}
	}
}

// apply calls f for each connected local socket matching opts. The sockets
// are collected under the adapter's and the namespace's read locks (in that
// order) and f runs after both are released.
func (a *MemoryAdapter) apply(opts BroadcastOptions, f func(*Socket)) {
	a.mu.RLock()
	a.nsp.mu.RLock()
	var socks []*Socket
	a.eachLocked(opts, func(sid string) {
		if s := a.nsp.sockets[sid]; s != nil {
			socks = append(socks, s)
		}
	})
	a.nsp.mu.RUnlock()
	a.mu.RUnlock()
	for _, s := range socks {
		f(s)
	}
}

// Broadcast implements Adapter. With connection-state recovery, an event
// without ack that is not volatile gets an offset as its last argument and is
// kept for replay (SessionAwareAdapter.broadcast).
func (a *MemoryAdapter) Broadcast(_ context.Context, p *packet.Packet, opts BroadcastOptions) error {
	if a.nsp.srv.cfg.Recovery != nil && p.Type == packet.Event && !p.HasID && !opts.Volatile {
		p = a.store(p, opts)
	}
	a.BroadcastLocal(p, opts)
	return nil
}

// BroadcastLocal encodes p once and writes it to the matching local sockets.
// Cluster adapters call it for packets from other nodes.
func (a *MemoryAdapter) BroadcastLocal(p *packet.Packet, opts BroadcastOptions) {
	text, bins := packet.Encode(p)
	o := &outPacket{text: text, bins: bins}
	n := 0
	a.apply(opts, func(s *Socket) {
		s.client.write(o, opts.Volatile)
		n++
	})
	a.nsp.srv.countBroadcast(n)
}

// BroadcastWithAck implements Adapter.
func (a *MemoryAdapter) BroadcastWithAck(_ context.Context, p *packet.Packet, opts BroadcastOptions, onCount func(int), onReply func(Args, error)) error {
	q := *p
	q.ID, q.HasID = a.nsp.newAckID(), true
	text, bins := packet.Encode(&q)
	o := &outPacket{text: text, bins: bins}
	n := 0
	a.apply(opts, func(s *Socket) {
		// A volatile packet dropped here is not counted: its ack would
		// never come.
		if opts.Volatile && !s.client.writable() {
			return
		}
		if !s.registerAckID(q.ID, onReply) {
			return
		}
		n++
		s.client.write(o, opts.Volatile)
	})
	onCount(n)
	return nil
}

// FetchSockets implements Adapter.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]SocketInfo, error) {
	var out []SocketInfo
	a.apply(opts, func(s *Socket) {
		out = append(out, SocketInfo{ID: s.id, Handshake: s.Handshake(), Rooms: s.Rooms(), Data: s.Data()})
	})
	return out, nil
}

// CountSockets implements Adapter: the local sockets matching opts,
// counted under the read lock without copying their ids. One room and no
// exceptions, the common case, costs O(1).
func (a *MemoryAdapter) CountSockets(_ context.Context, opts BroadcastOptions) (int, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if len(opts.Rooms) == 1 && len(opts.Except) == 0 {
		n := len(a.rooms[opts.Rooms[0]])
		if _, self := a.sids[opts.Rooms[0]]; self {
			n++
		}
		return n, nil
	}
	n := 0
	a.eachLocked(opts, func(string) { n++ })
	return n, nil
}

// AddSockets implements Adapter.
func (a *MemoryAdapter) AddSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, sid := range a.Sockets(opts) {
		a.AddAll(sid, rooms)
	}
	return nil
}

// DelSockets implements Adapter.
func (a *MemoryAdapter) DelSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, sid := range a.Sockets(opts) {
		for _, r := range rooms {
			a.Del(sid, r)
		}
	}
	return nil
}

// DisconnectSockets implements Adapter.
func (a *MemoryAdapter) DisconnectSockets(_ context.Context, opts BroadcastOptions, close bool) error {
	a.apply(opts, func(s *Socket) { s.Disconnect(close) })
	return nil
}

// ServerSideEmit implements Adapter: a single node has no one to tell.
func (a *MemoryAdapter) ServerSideEmit(context.Context, string, []any, bool) ([]Args, error) {
	return nil, nil
}

// ServerCount implements Adapter.
func (a *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// Close implements Adapter.
func (a *MemoryAdapter) Close() error { return nil }

func (a *MemoryAdapter) window() time.Duration {
	return a.nsp.srv.cfg.Recovery.MaxDisconnectionDuration
}

// store appends an offset to the event and keeps it.
func (a *MemoryAdapter) store(p *packet.Packet, opts BroadcastOptions) *packet.Packet {
	now := time.Now()
	a.rmu.Lock()
	defer a.rmu.Unlock()
	a.pruneLocked(now)
	a.seq++
	offset := a.prefix + strconv.FormatUint(a.seq, 36)
	q := *p
	q.Data = appendArg(p.Data, offset)
	a.packets = append(a.packets, storedPacket{offset: offset, at: now,
		rooms: slices.Clone(opts.Rooms), except: slices.Clone(opts.Except), p: &q})
	return &q
}

// appendArg adds a string as the last element of a JSON array.
func appendArg(arr []byte, s string) []byte {
	end := len(arr) - 1
	for end > 0 && arr[end] != ']' {
		end--
	}
	out := make([]byte, 0, len(arr)+len(s)+3)
	out = append(out, arr[:end]...)
	body := out[1:]
	for len(body) > 0 && (body[len(body)-1] == ' ' || body[len(body)-1] == '\n') {
		body = body[:len(body)-1]
	}
	if len(body) > 0 {
		out = append(out, ',')
	}
	out = packet.AppendString(out, s)
	return append(out, ']')
}

func (a *MemoryAdapter) pruneLocked(now time.Time) {
	cut := now.Add(-a.window())
	i := 0
	for i < len(a.packets) && a.packets[i].at.Before(cut) {
		i++
	}
	if i > 0 {
		a.packets = slices.Delete(a.packets, 0, i)
	}
	// Sessions are stored in time order: prune from the front, so that a
	// mass disconnect (10,000 sessions stored at once) costs O(n), not
	// O(n²) as a scan of the whole map per stored session did.
	j := 0
	for j < len(a.expiries) && a.expiries[j].s.at.Before(cut) {
		if e := a.expiries[j]; a.sessions[e.pid] == e.s {
			delete(a.sessions, e.pid)
		}
		a.expiries[j] = sessionExpiry{}
		j++
	}
	a.expiries = a.expiries[j:]
}

// PersistSession implements Adapter.
func (a *MemoryAdapter) PersistSession(s *Session) {
	if a.nsp.srv.cfg.Recovery == nil || s.PID == "" {
		return
	}
	a.rmu.Lock()
	defer a.rmu.Unlock()
	now := time.Now() // under the lock: expiries stay in time order
	a.pruneLocked(now)
	st := &storedSession{s: *s, at: now}
	a.sessions[s.PID] = st
	a.expiries = append(a.expiries, sessionExpiry{pid: s.PID, s: st})
}

// RestoreSession implements Adapter.
func (a *MemoryAdapter) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	if a.nsp.srv.cfg.Recovery == nil {
		return nil, nil
	}
	now := time.Now()
	a.rmu.Lock()
	defer a.rmu.Unlock()
	a.pruneLocked(now)
	st, ok := a.sessions[pid]
	if !ok {
		return nil, nil
	}
	delete(a.sessions, pid)
	idx := slices.IndexFunc(a.packets, func(sp storedPacket) bool { return sp.offset == offset })
	if idx < 0 {
		return nil, nil
	}
	sess := st.s
	sess.Missed = nil
	for _, sp := range a.packets[idx+1:] {
		if includes(sess.Rooms, sp.rooms, sp.except) {
			sess.Missed = append(sess.Missed, sp.p)
		}
	}
	return &sess, nil
}

// includes is shouldIncludePacket of socket.io-adapter.
func includes(sessionRooms, rooms, except []string) bool {
	included := len(rooms) == 0
	for _, r := range sessionRooms {
		if slices.Contains(except, r) {
			return false
		}
		if !included && slices.Contains(rooms, r) {
			included = true
		}
	}
	return included
}

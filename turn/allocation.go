package turn

import (
	"net/netip"
	"sync"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// transport is the client-facing transport of a 5-tuple.
type transport uint8

const (
	transportUDP transport = iota + 1
	transportTCP
	transportTLS
)

func (t transport) String() string {
	switch t {
	case transportUDP:
		return "udp"
	case transportTCP:
		return "tcp"
	case transportTLS:
		return "tls"
	}
	return "?"
}

// fiveTuple identifies an allocation (RFC 8656 §2): the client's address,
// the server address it talks to and the transport between them.
type fiveTuple struct {
	client, server netip.AddrPort
	proto          transport
}

// sink delivers bytes to a client over its transport. send may be called
// from any goroutine; b is not retained.
type sink interface {
	send(b []byte)
	// stream reports a TCP or TLS client, which needs ChannelData padded
	// to 4 bytes (RFC 8656 §12.5).
	stream() bool
}

// allocation is one relayed transport address and its state
// (RFC 8656 §2.2). Lock order: table.mu before allocation.mu.
type allocation struct {
	id       uint64
	ft       fiveTuple
	username string
	key      [16]byte
	tid      stun.TransactionID // of the Allocate that created it
	lifetime time.Duration      // as granted, for retransmitted Allocates
	sink     sink
	relay    *relaySocket // UDP relay; nil for a TCP allocation
	tcp      *tcpRelay    // TCP relay (RFC 6062); nil for a UDP allocation
	family   byte

	mu      sync.RWMutex
	closed  bool
	expires time.Time
	perms   map[netip.Addr]time.Time    // peer IP → expiry (RFC 8656 §9)
	chans   map[uint16]*channel         // by number (RFC 8656 §12)
	byPeer  map[netip.AddrPort]*channel // by peer transport address
	bw      bucket
}

type channel struct {
	num     uint16
	peer    netip.AddrPort
	expires time.Time
	dst     relayDest // pre-encoded peer address for the relay socket
}

// bucket is a token bucket capping an allocation's bytes per second.
type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// allow takes n bytes from the bucket refilled at rate bytes/s with a burst
// of one second's worth; rate < 0 disables the cap.
func (b *bucket) allow(n int, rate int, now time.Time) bool {
	if rate < 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = float64(rate)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * float64(rate)
		if b.tokens > float64(rate) {
			b.tokens = float64(rate)
		}
	}
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// relayAddr is the relayed transport address.
func (a *allocation) relayAddr() netip.AddrPort {
	if a.tcp != nil {
		return a.tcp.addr
	}
	return a.relay.addr
}

// permitted reports whether peer ip has an unexpired permission. Call with
// a.mu held (read).
func (a *allocation) permitted(ip netip.Addr, now time.Time) bool {
	exp, ok := a.perms[ip.Unmap()]
	return ok && now.Before(exp)
}

// table holds every allocation and the quota counters.
type table struct {
	mu      sync.RWMutex
	byTuple map[fiveTuple]*allocation
	byID    map[uint64]*allocation
	perUser map[string]int
	perIP   map[netip.Addr]int
	nextID  uint64
}

func newTable() *table {
	return &table{
		byTuple: make(map[fiveTuple]*allocation),
		byID:    make(map[uint64]*allocation),
		perUser: make(map[string]int),
		perIP:   make(map[netip.Addr]int),
	}
}

func (t *table) get(ft fiveTuple) *allocation {
	t.mu.RLock()
	a := t.byTuple[ft]
	t.mu.RUnlock()
	return a
}

func (t *table) getID(id uint64) *allocation {
	t.mu.RLock()
	a := t.byID[id]
	t.mu.RUnlock()
	return a
}

func (t *table) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byTuple)
}

// reserve checks the quotas and counts a new allocation for username and
// ip, or reports which quota is reached.
func (t *table) reserve(username string, ip netip.Addr, c *Config) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if (c.MaxAllocations >= 0 && len(t.byTuple) >= c.MaxAllocations) ||
		(c.UserQuota >= 0 && t.perUser[username] >= c.UserQuota) ||
		(c.IPQuota >= 0 && t.perIP[ip] >= c.IPQuota) {
		return false
	}
	t.perUser[username]++
	t.perIP[ip]++
	return true
}

func (t *table) unreserve(username string, ip netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unreserveLocked(username, ip)
}

func (t *table) unreserveLocked(username string, ip netip.Addr) {
	if t.perUser[username]--; t.perUser[username] <= 0 {
		delete(t.perUser, username)
	}
	if t.perIP[ip]--; t.perIP[ip] <= 0 {
		delete(t.perIP, ip)
	}
}

// insert adds a reserved allocation; it fails if the 5-tuple is taken.
func (t *table) insert(a *allocation) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byTuple[a.ft]; ok {
		return false
	}
	t.nextID++
	a.id = t.nextID
	t.byTuple[a.ft] = a
	t.byID[a.id] = a
	return true
}

// remove deletes a from the table and marks it closed; it reports whether
// a was still present. The caller releases a's relay socket.
func (t *table) remove(a *allocation) bool {
	t.mu.Lock()
	if t.byID[a.id] != a {
		t.mu.Unlock()
		return false
	}
	delete(t.byTuple, a.ft)
	delete(t.byID, a.id)
	t.unreserveLocked(a.username, a.ft.client.Addr())
	t.mu.Unlock()
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return true
}

// all returns a snapshot of every allocation.
func (t *table) all() []*allocation {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*allocation, 0, len(t.byID))
	for _, a := range t.byID {
		out = append(out, a)
	}
	return out
}

// sweep drops expired permissions and channels of a and reports whether a
// itself has expired (RFC 8656 §9, §12).
func (a *allocation) sweep(now time.Time) (expired bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !now.Before(a.expires) {
		return true
	}
	for ip, exp := range a.perms {
		if !now.Before(exp) {
			delete(a.perms, ip)
		}
	}
	for num, ch := range a.chans {
		if !now.Before(ch.expires) {
			delete(a.chans, num)
			delete(a.byPeer, ch.peer)
		}
	}
	return false
}

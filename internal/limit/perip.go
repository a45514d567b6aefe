package limit

import (
	"errors"
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// PerIPConfig configures PerIP. The zero value limits nothing.
type PerIPConfig struct {
	// MaxConns is the most connections one address may hold open at once.
	// 0: unlimited.
	MaxConns int
	// Rate is how many new connections one address may open per second,
	// on average (a token bucket). 0: unlimited.
	Rate float64
	// Burst is how many connections an address may open at once before
	// Rate applies. Default: two seconds' worth of Rate, at least 1.
	Burst int
	// Exempt addresses are never limited nor tracked (for example
	// loopback, or a reverse proxy that every client comes through).
	Exempt []netip.Prefix
	// MaxTracked bounds the addresses tracked at once. When it is reached,
	// addresses with no open connection are forgotten early, which only
	// ever resets their rate bucket to full. Default 65,536.
	MaxTracked int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Refusal says why PerIP refused a connection; it names the limit in
// metrics and logs.
type Refusal string

// Refusals.
const (
	RefusedConns Refusal = "conns_per_ip"     // MaxConns reached
	RefusedRate  Refusal = "conn_rate_per_ip" // the address's bucket is empty
)

// PerIP limits connections by client address. IPv4-mapped IPv6 addresses
// count as their IPv4 address, and IPv6 addresses count by their /64: one
// host usually holds a whole /64.
type PerIP struct {
	cfg    PerIPConfig
	seed   maphash.Seed
	shards [shards]shard

	admitted, refusedConns, refusedRate atomic.Uint64
}

const (
	shards        = 32
	sweepInterval = 10 * time.Second
	// fullSweepInterval spaces out sweeps of a full shard, so that a shard
	// full of addresses with open connections costs no scan per accept.
	fullSweepInterval = 100 * time.Millisecond
)

type shard struct {
	mu        sync.Mutex
	m         map[netip.Addr]*ipEntry
	lastSweep int64
	_         [40]byte // keep shards' locks on separate cache lines
}

type ipEntry struct {
	conns  int
	bucket Bucket
}

// NewPerIP validates cfg and returns a limiter.
func NewPerIP(cfg PerIPConfig) (*PerIP, error) {
	if cfg.MaxConns < 0 || cfg.Rate < 0 || cfg.Burst < 0 || cfg.MaxTracked < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, errors.New("limit: negative or invalid value in PerIPConfig")
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(math.Ceil(2*cfg.Rate)))
	}
	if cfg.MaxTracked == 0 {
		cfg.MaxTracked = 1 << 16
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &PerIP{cfg: cfg, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = make(map[netip.Addr]*ipEntry)
	}
	return l, nil
}

// Key is the address a connection from addr counts against.
func Key(addr netip.Addr) netip.Addr {
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.Addr()
	}
	return addr
}

// Admit decides whether a new connection from addr may proceed. When it
// may, release must be called exactly once when the connection ends (later
// calls do nothing). When it may not, the Refusal says which limit applies.
func (l *PerIP) Admit(addr netip.Addr) (release func(), refused Refusal) {
	if !addr.IsValid() || (l.cfg.MaxConns == 0 && l.cfg.Rate == 0) || l.exempt(addr) {
		l.admitted.Add(1)
		return noop, ""
	}
	key := Key(addr)
	sh := &l.shards[maphash.Comparable(l.seed, key)%shards]
	now := l.cfg.Now()
	sh.mu.Lock()
	l.sweepLocked(sh, now)
	e := sh.m[key]
	if e == nil {
		e = &ipEntry{}
		sh.m[key] = e
	}
	switch {
	case l.cfg.MaxConns > 0 && e.conns >= l.cfg.MaxConns:
		refused = RefusedConns
	case l.cfg.Rate > 0 && !e.bucket.Take(now, l.cfg.Rate, l.cfg.Burst):
		refused = RefusedRate
	default:
		e.conns++
	}
	if refused != "" {
		sh.mu.Unlock()
		if refused == RefusedConns {
			l.refusedConns.Add(1)
		} else {
			l.refusedRate.Add(1)
		}
		return nil, refused
	}
	sh.mu.Unlock()
	l.admitted.Add(1)
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		sh.mu.Lock()
		if e := sh.m[key]; e != nil && e.conns > 0 {
			e.conns--
		}
		sh.mu.Unlock()
	}, ""
}

func noop() {}

func (l *PerIP) exempt(addr netip.Addr) bool {
	a := addr.Unmap()
	for _, p := range l.cfg.Exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sweepLocked forgets the shard's addresses that hold no connection and
// whose bucket is full again, every sweepInterval; and, when the shard is
// at its share of MaxTracked, every address with no connection, at most
// every fullSweepInterval (addresses that hold connections are always
// kept, so the bound is MaxTracked plus the addresses with open
// connections).
func (l *PerIP) sweepLocked(sh *shard, now time.Time) {
	since := now.UnixNano() - sh.lastSweep
	full := len(sh.m) >= max(1, l.cfg.MaxTracked/shards) && since >= int64(fullSweepInterval)
	if !full && since < int64(sweepInterval) {
		return
	}
	sh.lastSweep = now.UnixNano()
	for k, e := range sh.m {
		if e.conns == 0 && (full || l.cfg.Rate == 0 || e.bucket.Full(now, l.cfg.Rate, l.cfg.Burst)) {
			delete(sh.m, k)
		}
	}
}

// PerIPStats are a PerIP's counters.
type PerIPStats struct {
	Tracked      int    // addresses tracked now
	Admitted     uint64 // connections admitted (exempt ones included)
	RefusedConns uint64 // refused for MaxConns
	RefusedRate  uint64 // refused for Rate
}

// Stats returns the limiter's counters.
func (l *PerIP) Stats() PerIPStats {
	s := PerIPStats{
		Admitted:     l.admitted.Load(),
		RefusedConns: l.refusedConns.Load(),
		RefusedRate:  l.refusedRate.Load(),
	}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		s.Tracked += len(sh.m)
		sh.mu.Unlock()
	}
	return s
}

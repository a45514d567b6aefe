package limit

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Unix(1_700_000_000, 0)} }
func addr(s string) netip.Addr           { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix       { return netip.MustParsePrefix(s) }

func TestBucket(t *testing.T) {
	c := newClock()
	var b Bucket
	for i := 0; i < 3; i++ {
		if !b.Take(c.now(), 2, 3) {
			t.Fatalf("take %d of a full burst of 3 refused", i)
		}
	}
	if b.Take(c.now(), 2, 3) {
		t.Fatal("4th take in a burst of 3 allowed")
	}
	if b.Full(c.now(), 2, 3) {
		t.Fatal("empty bucket reported full")
	}
	c.advance(500 * time.Millisecond) // 2/s: one token back
	if !b.Take(c.now(), 2, 3) {
		t.Fatal("take after refill refused")
	}
	if b.Take(c.now(), 2, 3) {
		t.Fatal("second take after one token's refill allowed")
	}
	c.advance(time.Hour)
	if !b.Full(c.now(), 2, 3) {
		t.Fatal("bucket not full after an hour")
	}
	for i := 0; i < 3; i++ {
		if !b.Take(c.now(), 2, 3) {
			t.Fatalf("take %d after an hour refused (refill must cap at burst, not beyond)", i)
		}
	}
	if b.Take(c.now(), 2, 3) {
		t.Fatal("refill went beyond burst")
	}
	// A clock going backwards neither refills nor panics.
	c.advance(-time.Minute)
	if b.Take(c.now(), 2, 3) {
		t.Fatal("clock going backwards refilled the bucket")
	}
}

func TestKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
		{"::1", "::"},
	} {
		if got := Key(addr(tc.in)); got != addr(tc.want) {
			t.Errorf("Key(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestNewPerIPRejectsBadConfig(t *testing.T) {
	for _, cfg := range []PerIPConfig{{MaxConns: -1}, {Rate: -1}, {Burst: -1}, {MaxTracked: -1}} {
		if _, err := NewPerIP(cfg); err == nil {
			t.Errorf("NewPerIP(%+v) accepted", cfg)
		}
	}
}

func TestPerIPMaxConns(t *testing.T) {
	l, err := NewPerIP(PerIPConfig{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	r1, why := l.Admit(addr("192.0.2.1"))
	if why != "" {
		t.Fatal(why)
	}
	r2, why := l.Admit(addr("::ffff:192.0.2.1")) // the same address, mapped
	if why != "" {
		t.Fatal(why)
	}
	if _, why := l.Admit(addr("192.0.2.1")); why != RefusedConns {
		t.Fatalf("third connection: refusal %q, want %q", why, RefusedConns)
	}
	if _, why := l.Admit(addr("192.0.2.2")); why != "" {
		t.Fatalf("another address refused: %q", why)
	}
	r1()
	r1() // later calls do nothing
	r3, why := l.Admit(addr("192.0.2.1"))
	if why != "" {
		t.Fatalf("after a release: refused %q", why)
	}
	if _, why := l.Admit(addr("192.0.2.1")); why != RefusedConns {
		t.Fatalf("double release freed two slots: refusal %q", why)
	}
	r2()
	r3()
	st := l.Stats()
	if st.Admitted != 4 || st.RefusedConns != 2 || st.RefusedRate != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPerIPRate(t *testing.T) {
	c := newClock()
	l, err := NewPerIP(PerIPConfig{Rate: 1, Burst: 2, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	a := addr("2001:db8::1")
	for i := 0; i < 2; i++ {
		rel, why := l.Admit(a)
		if why != "" {
			t.Fatalf("connection %d of the burst: %q", i, why)
		}
		rel() // closing does not give the token back
	}
	if _, why := l.Admit(addr("2001:db8::2")); why != RefusedRate {
		t.Fatalf("same /64 over the burst: refusal %q, want %q", why, RefusedRate)
	}
	if _, why := l.Admit(addr("2001:db8:0:1::1")); why != "" {
		t.Fatalf("another /64 refused: %q", why)
	}
	c.advance(time.Second)
	if _, why := l.Admit(a); why != "" {
		t.Fatalf("after a second: %q", why)
	}
	if got := l.Stats().RefusedRate; got != 1 {
		t.Fatalf("RefusedRate %d, want 1", got)
	}
}

func TestPerIPExemptAndDisabled(t *testing.T) {
	l, err := NewPerIP(PerIPConfig{MaxConns: 1, Rate: 1, Burst: 1, Exempt: []netip.Prefix{prefix("127.0.0.0/8"), prefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		for _, a := range []string{"127.0.0.1", "::ffff:127.0.0.2", "::1"} {
			if _, why := l.Admit(addr(a)); why != "" {
				t.Fatalf("exempt %s refused: %q", a, why)
			}
		}
	}
	if n := l.Stats().Tracked; n != 0 {
		t.Fatalf("exempt addresses tracked: %d", n)
	}
	off, _ := NewPerIP(PerIPConfig{})
	for i := 0; i < 10; i++ {
		if _, why := off.Admit(addr("192.0.2.1")); why != "" {
			t.Fatalf("zero config refused: %q", why)
		}
	}
}

func TestPerIPEvictsIdle(t *testing.T) {
	c := newClock()
	l, err := NewPerIP(PerIPConfig{MaxConns: 5, Rate: 10, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	held, _ := l.Admit(addr("198.51.100.1"))
	for i := 0; i < 200; i++ {
		rel, why := l.Admit(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
		if why != "" {
			t.Fatal(why)
		}
		rel()
	}
	if n := l.Stats().Tracked; n != 201 {
		t.Fatalf("tracked %d before the sweep, want 201", n)
	}
	c.advance(sweepInterval)
	// Sweeps run per shard as addresses arrive; touch every shard.
	for i := 0; i < 2000; i++ {
		rel, _ := l.Admit(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}))
		if rel != nil {
			rel()
		}
	}
	c.advance(sweepInterval)
	for i := 0; i < 2000; i++ {
		_, _ = l.Admit(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	st := l.Stats()
	// What is left: the address with a connection and the last round.
	if st.Tracked > 2001 {
		t.Fatalf("tracked %d after sweeps, want at most 2001", st.Tracked)
	}
	held()
	if _, why := l.Admit(addr("198.51.100.1")); why != "" {
		t.Fatalf("held address lost its state: %q", why)
	}
}

func TestPerIPMaxTracked(t *testing.T) {
	c := newClock()
	l, err := NewPerIP(PerIPConfig{MaxConns: 1, MaxTracked: 64, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	var held []func()
	for i := 0; i < 32; i++ {
		rel, why := l.Admit(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
		if why != "" {
			t.Fatal(why)
		}
		held = append(held, rel)
	}
	for i := 0; i < 10_000; i++ {
		c.advance(fullSweepInterval)
		rel, why := l.Admit(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		if why != "" {
			t.Fatal(why)
		}
		rel()
	}
	// Each shard holds at most its share plus the entry just added, plus
	// the held addresses, which are never forgotten.
	if n := l.Stats().Tracked; n > 32+shards*(64/shards+1) {
		t.Fatalf("tracked %d, want a bounded table", n)
	}
	for i, rel := range held {
		if _, why := l.Admit(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})); why != RefusedConns {
			t.Fatalf("held address %d forgotten: refusal %q", i, why)
		}
		rel()
	}
}

func TestPerIPConcurrent(t *testing.T) {
	l, err := NewPerIP(PerIPConfig{MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 4)})
				if rel, why := l.Admit(a); why == "" {
					rel()
				}
			}
		}()
	}
	wg.Wait()
	// Every slot came back: each address admits MaxConns again.
	for i := 0; i < 4; i++ {
		for j := 0; j < 3; j++ {
			if _, why := l.Admit(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})); why != "" {
				t.Fatalf("address %d slot %d: %q", i, j, why)
			}
		}
	}
}

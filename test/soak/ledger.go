package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// A ledger records every broadcast sent to a room, so that each client can
// work out, when it stops, which broadcasts it must have received: those
// sent after its join was acknowledged and acknowledged themselves before it
// stopped (it keeps reading for Config.Grace after that). Anything else it
// receives is allowed once; receiving a sequence number twice is a duplicate.
type ledger struct {
	mu    sync.Mutex
	rooms map[string][]entry
}

type entry struct {
	sent, done time.Time // request started, request acknowledged (zero while in flight)
	ok         bool      // the server accepted it
	exclude    string    // the session that sent it (a socket publish is not echoed to its sender)
}

func newLedger() *ledger { return &ledger{rooms: map[string][]entry{}} }

// begin registers a broadcast about to be sent and returns its sequence
// number in the room (from 0).
func (l *ledger) begin(room, exclude string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rooms[room] = append(l.rooms[room], entry{sent: time.Now(), exclude: exclude})
	return len(l.rooms[room]) - 1
}

func (l *ledger) end(room string, seq int, ok bool) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &l.rooms[room][seq]
	e.done, e.ok = now, ok
}

// missing counts the broadcasts of room that a member from joined to stopped
// (named self) should have received but did not, and those it should have.
func (l *ledger) missing(room, self string, joined, stopped time.Time, got *bitset) (lost, expected int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for seq, e := range l.rooms[room] {
		if !e.ok || e.exclude == self || !e.sent.After(joined) || e.done.IsZero() || !e.done.Before(stopped) {
			continue
		}
		expected++
		if !got.has(seq) {
			lost++
		}
	}
	return lost, expected
}

// bitset is a growable set of small non-negative integers.
type bitset struct{ w []uint64 }

// add inserts i and reports whether it was already there.
func (b *bitset) add(i int) (dup bool) {
	for i/64 >= len(b.w) {
		b.w = append(b.w, 0)
	}
	m := uint64(1) << (i % 64)
	dup = b.w[i/64]&m != 0
	b.w[i/64] |= m
	return dup
}

func (b *bitset) has(i int) bool { return i/64 < len(b.w) && b.w[i/64]&(1<<(i%64)) != 0 }

// counter is a delivery tally of one message kind.
type counter struct {
	Sent       atomic.Int64 // messages sent (a broadcast counts once)
	Expected   atomic.Int64 // deliveries owed to clients that were connected throughout
	Received   atomic.Int64 // deliveries received
	Lost       atomic.Int64 // owed and not received
	Duplicates atomic.Int64 // received more than once
	Unexpected atomic.Int64 // received but never sent, or sent to another room/peer
	Failed     atomic.Int64 // sends the server refused or that errored
	lat        histogram
}

type counterReport struct {
	Sent       int64      `json:"sent"`
	Expected   int64      `json:"expected"`
	Received   int64      `json:"received"`
	Lost       int64      `json:"lost"`
	Duplicates int64      `json:"duplicates"`
	Unexpected int64      `json:"unexpected"`
	Failed     int64      `json:"failed_sends"`
	Latency    latencyRep `json:"latency"`
}

func (c *counter) report() counterReport {
	return counterReport{c.Sent.Load(), c.Expected.Load(), c.Received.Load(), c.Lost.Load(), c.Duplicates.Load(), c.Unexpected.Load(), c.Failed.Load(), c.lat.report()}
}

// histogram of latencies in 100 µs buckets up to 30 s.
type histogram struct {
	b   [300_000]atomic.Int64
	max atomic.Int64
}

const histRes = 100 * time.Microsecond

func (h *histogram) add(d time.Duration) {
	i := int(d / histRes)
	if i < 0 {
		i = 0
	}
	if i >= len(h.b) {
		i = len(h.b) - 1
	}
	h.b[i].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

type latencyRep struct {
	Count int64   `json:"count"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	MaxMs float64 `json:"max_ms"`
}

func (h *histogram) report() latencyRep {
	var n int64
	for i := range h.b {
		n += h.b[i].Load()
	}
	r := latencyRep{Count: n, MaxMs: float64(h.max.Load()) / 1e6}
	if n == 0 {
		return r
	}
	q := func(p float64) float64 {
		want := int64(p * float64(n))
		var acc int64
		for i := range h.b {
			acc += h.b[i].Load()
			if acc > want {
				return float64(time.Duration(i+1)*histRes) / 1e6
			}
		}
		return r.MaxMs
	}
	r.P50ms, r.P99ms, r.P999 = q(0.5), q(0.99), q(0.999)
	return r
}

package limit

import "time"

// Bucket is a token bucket: Burst tokens at most, refilled at Rate per
// second. The zero value is full on first use. A Bucket is not safe for
// concurrent use; its owner serialises access (one connection's reader, or
// a shard lock).
type Bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill; 0: never used
}

// Take removes one token if there is one and reports whether it did. A
// rate of 0 or less never refills; burst below 1 is treated as 1.
func (b *Bucket) Take(now time.Time, rate float64, burst int) bool {
	b.refill(now.UnixNano(), rate, burst)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Full reports whether the bucket would be full at now: it then carries no
// state worth keeping.
func (b *Bucket) Full(now time.Time, rate float64, burst int) bool {
	if b.last == 0 {
		return true
	}
	t := b.tokens
	if d := now.UnixNano() - b.last; d > 0 && rate > 0 {
		t += float64(d) / 1e9 * rate
	}
	return t >= float64(max(burst, 1))
}

func (b *Bucket) refill(now int64, rate float64, burst int) {
	limit := float64(max(burst, 1))
	switch {
	case b.last == 0:
		b.tokens = limit
	case now > b.last && rate > 0:
		b.tokens = min(limit, b.tokens+float64(now-b.last)/1e9*rate)
	}
	if now > b.last || b.last == 0 {
		b.last = now
	}
}

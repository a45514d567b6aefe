package signaling

import "time"

// bucket is a token bucket: burst tokens, refilled at rate per second. The
// zero value is empty; a bucket is filled on first use.
type bucket struct {
	tokens float64
	last   time.Time
}

// take removes one token if there is one.
func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * rate
		if b.tokens > float64(burst) {
			b.tokens = float64(burst)
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

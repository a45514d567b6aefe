package turn

import (
	"crypto/rand"
	"sync"
	"time"
)

// reservationLifetime is how long a port reserved by EVEN-PORT with the R
// bit waits for the Allocate that claims it (RFC 8656 §7.2: about 30 s).
const reservationLifetime = 30 * time.Second

// reservations holds relay sockets bound for a later Allocate carrying
// RESERVATION-TOKEN (RFC 8656 §7.2, §18.9). The sockets are not watched by
// any loop until claimed.
type reservations struct {
	mu sync.Mutex
	m  map[[8]byte]reservation
}

type reservation struct {
	rs      *relaySocket
	expires time.Time
}

func (r *reservations) put(rs *relaySocket, now time.Time) [8]byte {
	var tok [8]byte
	rand.Read(tok[:])
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[[8]byte]reservation)
	}
	r.m[tok] = reservation{rs: rs, expires: now.Add(reservationLifetime)}
	return tok
}

// take removes and returns the socket reserved under tok, or nil.
func (r *reservations) take(tok [8]byte, now time.Time) *relaySocket {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.m[tok]
	if !ok || !now.Before(res.expires) {
		return nil // an expired one is closed by the next sweep
	}
	delete(r.m, tok)
	return res.rs
}

// expired removes and returns reservations past their time (all of them
// when all is set, at shutdown).
func (r *reservations) expired(now time.Time, all bool) []*relaySocket {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*relaySocket
	for tok, res := range r.m {
		if all || !now.Before(res.expires) {
			out = append(out, res.rs)
			delete(r.m, tok)
		}
	}
	return out
}

package signaling

import (
	"sync"
	"sync/atomic"

	"github.com/switchboard/switchboard/signaling/message"
)

// Stats are a Hub's counters since it was made, for metrics.
type Stats struct {
	Sessions int    // connected now
	Joins    uint64 // successful joins
	Leaves   uint64 // leaves, explicit or by disconnect
	Relayed  uint64 // offers, answers and candidates delivered
	// Errors counts error frames sent, by code.
	Errors map[message.Code]uint64
	// Disconnected counts clients cut off for abuse (Config.MaxErrors).
	Disconnected uint64
}

// counters are the hub's statistics; all updates are atomic or under mu.
type counters struct {
	joins, leaves, relayed, disconnected atomic.Uint64

	mu     sync.Mutex
	errors map[message.Code]uint64
}

func (c *counters) countError(code message.Code) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.errors == nil {
		c.errors = make(map[message.Code]uint64)
	}
	c.errors[code]++
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	s := Stats{
		Sessions:     h.Len(),
		Joins:        h.stats.joins.Load(),
		Leaves:       h.stats.leaves.Load(),
		Relayed:      h.stats.relayed.Load(),
		Disconnected: h.stats.disconnected.Load(),
		Errors:       make(map[message.Code]uint64),
	}
	h.stats.mu.Lock()
	defer h.stats.mu.Unlock()
	for k, v := range h.stats.errors {
		s.Errors[k] = v
	}
	return s
}

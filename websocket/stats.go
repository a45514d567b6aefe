package websocket

import "sync/atomic"

// Stats are a Server's counters since it was made, for metrics. A
// connection counts with the Server that accepted it (Serve) or hijacked it
// (Upgrade from a net/http handler), whichever Server's limits it runs
// under.
type Stats struct {
	Open int // open WebSocket connections
	// Data messages and their payload bytes (after decompression when
	// received, before compression when sent). Sent counts messages queued.
	MessagesIn, BytesIn, MessagesOut, BytesOut uint64
	// SlowConsumers counts connections dropped with ErrSlowConsumer.
	SlowConsumers uint64
	// TooLarge counts connections closed with 1009 (message too big).
	TooLarge uint64
}

// counters is one shard of a Server's counters. Connections are spread
// over the shards, so a hot path costs one uncontended atomic add; Stats
// sums the shards.
type counters struct {
	msgsIn, bytesIn, msgsOut, bytesOut, slow, tooLarge atomic.Uint64
	_                                                  [16]byte // one shard per cache line
}

// The methods accept a nil receiver: client connections count nothing.

func (c *counters) in(n int) {
	if c != nil {
		c.msgsIn.Add(1)
		c.bytesIn.Add(uint64(n))
	}
}

func (c *counters) out(n int) {
	if c != nil {
		c.msgsOut.Add(1)
		c.bytesOut.Add(uint64(n))
	}
}

func (c *counters) slowConsumer() {
	if c != nil {
		c.slow.Add(1)
	}
}

func (c *counters) messageTooBig() {
	if c != nil {
		c.tooLarge.Add(1)
	}
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{Open: s.Open()}
	for i := range s.ctrs {
		c := &s.ctrs[i]
		st.MessagesIn += c.msgsIn.Load()
		st.BytesIn += c.bytesIn.Load()
		st.MessagesOut += c.msgsOut.Load()
		st.BytesOut += c.bytesOut.Load()
		st.SlowConsumers += c.slow.Load()
		st.TooLarge += c.tooLarge.Load()
	}
	return st
}

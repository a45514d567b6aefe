package engineio

import (
	"errors"
	"sync/atomic"

	"github.com/switchboard/switchboard/engineio/packet"
	"github.com/switchboard/switchboard/websocket"
)

// Stats are a Server's counters since it was made, for metrics.
type Stats struct {
	Sessions  int // open now
	Polling   TransportStats
	WebSocket TransportStats
	// SlowConsumers counts sessions closed because the client did not
	// collect its packets (WriteQueueLimit, or the WebSocket connection's
	// own limit).
	SlowConsumers uint64
	// TooLarge counts sessions closed for input over MaxPayload.
	TooLarge uint64
	// OriginRefused counts requests refused by Config.CheckOrigin.
	OriginRefused uint64
}

// TransportStats count message packets (not control packets) and their
// payload bytes (binary messages counted before base64) on one transport. Out counts what was handed to the
// transport (queued for the next poll, or written to the connection).
type TransportStats struct {
	MessagesIn, BytesIn, MessagesOut, BytesOut uint64
}

// stats are the server's counters: one atomic add per message.
type stats struct {
	polling, websocket                     transportCounters
	slowConsumers, tooLarge, originRefused atomic.Uint64
}

type transportCounters struct {
	msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64
}

func (t *transportCounters) in(n int) {
	t.msgsIn.Add(1)
	t.bytesIn.Add(uint64(n))
}

func (t *transportCounters) out(m *Message) {
	if m.typ != packet.Message {
		return
	}
	t.msgsOut.Add(1)
	t.bytesOut.Add(uint64(len(m.Data())))
}

func (t *transportCounters) load() TransportStats {
	return TransportStats{t.msgsIn.Load(), t.bytesIn.Load(), t.msgsOut.Load(), t.bytesOut.Load()}
}

// countSendError counts a send that closed the session.
func (st *stats) countSendError(err error) {
	if errors.Is(err, ErrSlowConsumer) || errors.Is(err, websocket.ErrSlowConsumer) {
		st.slowConsumers.Add(1)
	}
}

// Stats returns the server's counters.
func (srv *Server) Stats() Stats {
	return Stats{
		Sessions:      srv.Len(),
		Polling:       srv.stats.polling.load(),
		WebSocket:     srv.stats.websocket.load(),
		SlowConsumers: srv.stats.slowConsumers.Load(),
		TooLarge:      srv.stats.tooLarge.Load(),
		OriginRefused: srv.stats.originRefused.Load(),
	}
}

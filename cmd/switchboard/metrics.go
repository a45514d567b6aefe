package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/switchboard/switchboard/signaling/message"
)

// sigRooms returns the signaling rooms' counts when the rooms are in
// memory.
func (a *app) sigRooms() (func() (rooms, members int), bool) {
	r, ok := a.sigRoomDB.(interface{ Stats() (int, int) })
	if !ok {
		return nil, false
	}
	return r.Stats, true
}

// metricsHandler serves /metrics from a registry owned by this app (no
// package-level state). Gauges and counters are read from the components'
// own counters at scrape time, so nothing is counted twice on hot paths.
func (a *app) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: name, Help: help}, f))
	}
	labeled := func(name, help string, labels prometheus.Labels, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Name: name, Help: help, ConstLabels: labels}, f))
	}
	// Traffic by transport: the WebSocket engine counts every endpoint on
	// its loops (Socket.IO's WebSocket transport and /signal included);
	// Engine.IO counts Socket.IO per transport; signaling counts /signal.
	traffic := []struct {
		transport string
		stats     func() (msgsIn, bytesIn, msgsOut, bytesOut uint64)
	}{
		{"websocket", func() (uint64, uint64, uint64, uint64) {
			s := a.ws.Stats()
			return s.MessagesIn, s.BytesIn, s.MessagesOut, s.BytesOut
		}},
		{"engineio_polling", func() (uint64, uint64, uint64, uint64) {
			s := a.eio.Stats().Polling
			return s.MessagesIn, s.BytesIn, s.MessagesOut, s.BytesOut
		}},
		{"engineio_websocket", func() (uint64, uint64, uint64, uint64) {
			s := a.eio.Stats().WebSocket
			return s.MessagesIn, s.BytesIn, s.MessagesOut, s.BytesOut
		}},
	}
	for _, t := range traffic {
		l := prometheus.Labels{"transport": t.transport}
		labeled("messages_received_total", "Data messages received, by transport (websocket: the engine, all endpoints).", l, func() float64 { v, _, _, _ := t.stats(); return float64(v) })
		labeled("received_bytes_total", "Payload bytes of the data messages received, by transport.", l, func() float64 { _, v, _, _ := t.stats(); return float64(v) })
		labeled("messages_sent_total", "Data messages sent (queued), by transport.", l, func() float64 { _, _, v, _ := t.stats(); return float64(v) })
		labeled("sent_bytes_total", "Payload bytes of the data messages sent, by transport.", l, func() float64 { _, _, _, v := t.stats(); return float64(v) })
	}
	counter("sio_broadcasts_total", "Socket.IO packets broadcast to this node's sockets.", func() float64 { return float64(a.sio.Stats().Broadcasts) })
	counter("sio_broadcast_deliveries_total", "Sockets reached by Socket.IO broadcasts (fan-out).", func() float64 { return float64(a.sio.Stats().Deliveries) })
	counter("signaling_relayed_total", "Signaling offers, answers and candidates relayed.", func() float64 { return float64(a.sig.Hub().Stats().Relayed) })
	counter("websocket_slow_consumer_disconnects_total", "WebSocket connections dropped for not reading (write buffer limit).", func() float64 { return float64(a.ws.Stats().SlowConsumers) })
	counter("engineio_slow_consumer_disconnects_total", "Engine.IO sessions closed for not collecting their packets (WebSocket ones are also in websocket_slow_consumer_disconnects_total).", func() float64 { return float64(a.eio.Stats().SlowConsumers) })

	// Every limit's hits, by limit name (README "Limits").
	sigErr := func(code message.Code) func() float64 {
		return func() float64 { return float64(a.sig.Hub().Stats().Errors[code]) }
	}
	limits := []struct {
		name string
		f    func() float64
	}{
		{"conns_per_ip", func() float64 { return float64(a.connLimit.Stats().RefusedConns) }},
		{"conn_rate_per_ip", func() float64 { return float64(a.connLimit.Stats().RefusedRate) }},
		{"ws_message_size", func() float64 { return float64(a.ws.Stats().TooLarge) }},
		{"sio_payload", func() float64 { return float64(a.eio.Stats().TooLarge) }},
		{"origin", func() float64 { return float64(a.eio.Stats().OriginRefused) }},
		{"sio_message_rate", func() float64 { return float64(a.sioLimits().RateLimited) }},
		{"sio_rooms_per_conn", func() float64 { return float64(a.sioLimits().TooManyRooms) }},
		{"sio_room_size", func() float64 { return float64(a.sioLimits().RoomFull) }},
		{"signal_message_rate", sigErr(message.CodeRateLimited)},
		{"signal_room_size", sigErr(message.CodeRoomFull)},
		{"signal_message_size", sigErr(message.CodeTooLarge)},
	}
	if t := a.turn; t != nil {
		limits = append(limits, struct {
			name string
			f    func() float64
		}{"turn_quota", func() float64 { return float64(t.Stats().QuotaRejections) }})
	}
	for _, l := range limits {
		labeled("limit_hits_total", "Requests or connections refused by a limit, by limit name (README \"Limits\").", prometheus.Labels{"limit": l.name}, l.f)
	}
	counter("sio_rate_disconnects_total", "Socket.IO connections cut off for flooding past their event rate.", func() float64 { return float64(a.sioLimits().Disconnected) })
	counter("signaling_abuse_disconnects_total", "Signaling peers cut off for repeated errors (1008).", func() float64 { return float64(a.sig.Hub().Stats().Disconnected) })
	gauge("tracked_client_addresses", "Client addresses tracked by the per-address connection limits.", func() float64 { return float64(a.connLimit.Stats().Tracked) })
	if rooms, ok := a.sigRooms(); ok {
		gauge("signaling_rooms", "Signaling rooms on this node.", func() float64 { r, _ := rooms(); return float64(r) })
	}
	if c := a.cluster; c != nil {
		gauge("redis_connected", "1 when the Redis subscription is up (cross-node delivery on), else 0.", func() float64 {
			if c.Ready() {
				return 1
			}
			return 0
		})
		counter("redis_published_total", "Messages published to other nodes through Redis.", func() float64 { return float64(c.Stats().Published) })
		counter("redis_received_total", "Messages received from other nodes through Redis.", func() float64 { return float64(c.Stats().Received) })
		counter("redis_dropped_total", "Messages to other nodes dropped (Redis unavailable or backlog full).", func() float64 { return float64(c.Stats().Dropped) })
	}
	gauge("websocket_connections", "Open WebSocket connections on the main listener's event loops (all endpoints).", func() float64 { return float64(a.ws.Open()) })
	gauge("engineio_sessions", "Open Engine.IO sessions (polling and WebSocket).", func() float64 { return float64(a.eio.Len()) })
	gauge("signaling_peers", "Peers connected to /signal.", func() float64 { return float64(a.sig.Hub().Len()) })
	if t := a.turn; t != nil {
		gauge("turn_allocations", "Current TURN allocations.", func() float64 { return float64(t.Stats().Allocations) })
		gauge("turn_tcp_connections", "Current peer connections of TURN TCP allocations (RFC 6062), pending and bound.", func() float64 { return float64(t.Stats().TCPConnections) })
		counter("turn_allocations_total", "TURN allocations created.", func() float64 { return float64(t.Stats().AllocationsTotal) })
		counter("turn_auth_failures_total", "STUN/TURN requests refused for credentials (401/438).", func() float64 { return float64(t.Stats().AuthFailures) })
		counter("turn_quota_rejections_total", "Allocate and Connect requests refused with 486, and peer connections refused past the TCP allocation cap.", func() float64 { return float64(t.Stats().QuotaRejections) })
		counter("turn_denied_peers_total", "Permissions or sends refused for a denied peer address (403).", func() float64 { return float64(t.Stats().DeniedPeers) })
		counter("turn_relayed_bytes_to_peers_total", "Bytes relayed from clients to peers.", func() float64 { return float64(t.Stats().BytesToPeers) })
		counter("turn_relayed_bytes_to_clients_total", "Bytes relayed from peers to clients.", func() float64 { return float64(t.Stats().BytesToClients) })
		counter("turn_dropped_packets_total", "Relay packets dropped (no permission or channel, bandwidth cap, full socket).", func() float64 { return float64(t.Stats().Dropped) })
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

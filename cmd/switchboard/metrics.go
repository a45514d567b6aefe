package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

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
	gauge("websocket_connections", "Open WebSocket connections on the main listener's event loops (all endpoints).", func() float64 { return float64(a.ws.Open()) })
	gauge("engineio_sessions", "Open Engine.IO sessions (polling and WebSocket).", func() float64 { return float64(a.eio.Len()) })
	gauge("signaling_peers", "Peers connected to /signal.", func() float64 { return float64(a.sig.Hub().Len()) })
	if t := a.turn; t != nil {
		gauge("turn_allocations", "Current TURN allocations.", func() float64 { return float64(t.Stats().Allocations) })
		counter("turn_allocations_total", "TURN allocations created.", func() float64 { return float64(t.Stats().AllocationsTotal) })
		counter("turn_auth_failures_total", "STUN/TURN requests refused for credentials (401/438).", func() float64 { return float64(t.Stats().AuthFailures) })
		counter("turn_quota_rejections_total", "Allocate requests refused with 486.", func() float64 { return float64(t.Stats().QuotaRejections) })
		counter("turn_denied_peers_total", "Permissions or sends refused for a denied peer address (403).", func() float64 { return float64(t.Stats().DeniedPeers) })
		counter("turn_relayed_bytes_to_peers_total", "Bytes relayed from clients to peers.", func() float64 { return float64(t.Stats().BytesToPeers) })
		counter("turn_relayed_bytes_to_clients_total", "Bytes relayed from peers to clients.", func() float64 { return float64(t.Stats().BytesToClients) })
		counter("turn_dropped_packets_total", "Relay packets dropped (no permission or channel, bandwidth cap, full socket).", func() float64 { return float64(t.Stats().Dropped) })
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

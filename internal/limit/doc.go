// Package limit holds the abuse limits that are not tied to one protocol:
// a token bucket, and PerIP, which bounds the connections each client
// address may hold and open per second. The binary plugs PerIP into the
// WebSocket engine's accept hook (websocket.Config.Admit).
//
// Everything here is safe for concurrent use, starts no goroutine and keeps
// bounded memory: idle state is evicted as it is met.
package limit

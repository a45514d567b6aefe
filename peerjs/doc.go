// Package peerjs is a PeerJS-compatible signaling endpoint: the unchanged
// npm `peerjs` client (1.5.x) talks to it as it would to the npm `peer`
// server (peers/peerjs-server).
//
// Mounted at Config.Path (default /peerjs) it serves:
//
//	GET  /peerjs                    server info (JSON)
//	GET  /peerjs/{key}/id           a fresh random peer id (text)
//	GET  /peerjs/{key}/peers        the connected ids (JSON), 401 unless Config.AllowDiscovery
//	WS   /peerjs/peerjs?key=&id=&token=
//
// On the WebSocket the server sends OPEN, ID-TAKEN (the id is held with
// another token; the same token takes the id over), ERROR (fatal only),
// and relays OFFER, ANSWER, CANDIDATE and LEAVE to "dst" with "src" set by
// the server. Messages for an id that is not connected are queued and
// answered with EXPIRE after Config.ExpireTimeout. Clients send HEARTBEAT;
// one silent for Config.AliveTimeout is dropped.
//
// With Config.Auth the token is a credential checked on every connect:
// [JWTAuth] verifies it as a JWT (package auth) whose "sub", when present,
// must equal the peer id; a refused client gets ERROR "Invalid token
// provided" (the stock server's message) and is closed.
//
// Where it does better than the stock server without breaking its client:
// when a peer departs (socket closed, alive timeout) the peers it signaled
// with receive LEAVE, so their data and media connections see "close"
// (the stock server never tells them); malformed frames are dropped
// without harm; ids are validated with the client's own rule; a
// disconnected peer's id stays reserved for its token for
// Config.LeaveGrace, so peer.reconnect() keeps working; clients cannot
// send EXPIRE; queues and message rates are bounded.
package peerjs

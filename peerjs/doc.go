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
//
// # Several nodes
//
// With Config.Cluster (package redisadapter implements it) the Servers of
// several nodes act as one: an id is claimed across the cluster before OPEN
// is sent (ID-TAKEN if another node holds it with another token; the same
// token takes it over, so peer.reconnect() may land on any node), and
// frames for an id that is not on this node go to the node that holds it.
// Frames for an id no node holds wait in this node's queue, are offered to
// the cluster again at every sweep, and end as EXPIRE as usual; LEAVE and
// EXPIRE reach peers on other nodes. When a node dies or shuts down, the
// Cluster reports its peers gone (Inbox.Gone) once their ids expire, and
// their partners on the other nodes get LEAVE then. The discovery list
// (peers) and ConcurrentLimit stay per node.
package peerjs

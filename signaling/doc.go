// Package signaling is Switchboard's WebRTC signaling service: rooms of
// peers that exchange SDP offers, answers and ICE candidates through the
// server, as specified for /signal in CONTRACT.md.
//
// It has two layers:
//
//   - [Hub] holds the protocol semantics and nothing else: server-assigned
//     peer ids, rooms, joined / peer-joined / peer-left, relaying to the
//     addressed peer with a server-set "from", limits, authentication and
//     ICE server settings. A connection is a [Peer] (a bounded, non-blocking
//     Send), so the hub runs and is tested without sockets. Room state sits
//     behind [Rooms]; the default is in memory, and a cluster implementation
//     can share it between nodes. Rooms never block the caller: joins and
//     relays answer through callbacks, and a Session keeps a peer's frames
//     in order while its join is in flight.
//   - [Server] puts a Hub on a WebSocket endpoint ([Server.ServeHTTP]) using
//     the websocket package's event-loop engine. Dead connections are found
//     by WebSocket pings (Config.PingInterval) and leave their room.
//
// Joins are authenticated by Config.Auth, an [Authenticator]: [JWTAuth]
// verifies JSON Web Tokens with package auth and checks the room against
// their "rooms" claim; [HMACAuth] is a minimal HMAC token. A refused join is
// an error frame with code "unauthorized" (missing or invalid token) or
// "forbidden" (the token does not admit to the room).
//
// Frames are decoded and encoded by package signaling/message.
package signaling

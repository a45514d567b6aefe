// Package wire is the pure codec of the messages that the official
// @socket.io/redis-adapter 8.x exchanges through Redis, so that Switchboard
// nodes and Node.js socket.io nodes can share one cluster.
//
// There is no written specification (socketio/socket.io-redis-adapter issue
// 556); the reference is the adapter's source (lib/index.ts) and traffic
// captured between Node.js nodes. In short, for a key prefix K (default
// "socket.io") and a namespace N:
//
//   - Broadcasts are published on "K#N#" or, when they target exactly one
//     room R, on "K#N#R#", as the MessagePack array [uid, packet, opts]:
//     packet is {type, data, nsp} with binary values as MessagePack bin,
//     opts is {rooms, except, flags}.
//   - Requests go to "K-request#N#" and responses to "K-response#N#" (or
//     "K-response#N#<uid>#" with publishOnSpecificResponseChannel). They are
//     JSON objects, except the broadcast-with-ack request (type 7) and its
//     per-client acknowledgements (type 9), which are MessagePack maps so
//     that binary survives. A receiver tells them apart by the first byte:
//     '{' is JSON.
//   - The number of nodes is PUBSUB NUMSUB of the request channel.
//
// The package does no I/O, starts no goroutines and does not log. Payloads
// cross it as Socket.IO JSON with {"_placeholder":true,"num":N} objects and a
// list of attachments, the form the socketio packages use.
package wire

// Package message is the pure JSON codec of Switchboard's WebRTC signaling
// protocol, the frames exchanged on /signal (see CONTRACT.md):
//
//	client → server  {"type":"join","room":R,"name":N}
//	                 {"type":"offer"|"answer","to":ID,"sdp":"v=0..."}
//	                 {"type":"candidate","to":ID,"candidate":{...}}
//	                 {"type":"leave"}
//	server → client  {"type":"joined","id":ID,"room":R,"peers":[...],"iceServers":[...]}
//	                 {"type":"peer-joined","id":ID,"name":N}
//	                 {"type":"peer-left","id":ID}
//	                 {"type":"error","code":C,"message":M}
//
// [Decode] validates a client frame strictly (JSON syntax, field types, sizes,
// peer ids, duplicate keys) and reports problems as an [*Error] carrying the
// wire code to answer with. A relayed offer, answer or candidate keeps every
// member the client sent, byte for byte and in order; [Message.AppendRelay]
// writes it with "from" in place of "to".
//
// The package does no I/O, starts no goroutines and does not log.
package message

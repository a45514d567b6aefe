// Package packet is the pure codec of the Socket.IO v5 protocol
// (https://github.com/socketio/socket.io-protocol, "Packet encoding"): it turns
// packets into the text and binary Engine.IO messages that carry them and back.
//
// A packet is encoded as
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// followed, for BINARY_EVENT and BINARY_ACK, by one binary Engine.IO message per
// attachment. Inside the payload each attachment is replaced by the placeholder
// {"_placeholder":true,"num":N}, at any depth.
//
// The decoder mirrors the validation of the reference parser
// (socketio/socket.io, packages/socket.io-parser/lib/index.ts): unknown types,
// malformed attachment counts, unparsable JSON, payloads of the wrong shape
// for their type, reserved event names, out-of-range placeholders and
// messages arriving out of sequence are all rejected with an error wrapping
// [ErrInvalid]. It is stricter in two places: an ack id must be decimal digits
// that fit in a uint64, and only EVENT and ACK packets may carry one.
//
// The package does no I/O, starts no goroutines and does not log. Payloads are
// carried as raw JSON ([encoding/json.RawMessage]) so that client data passes
// through byte for byte, key order included.
package packet

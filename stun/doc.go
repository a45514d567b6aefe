// Package stun is a pure codec for STUN messages (RFC 8489) and the TURN
// additions that travel in them (RFC 8656 attributes, ChannelData framing).
//
// It does no I/O, starts no goroutines and logs nothing. Decoding is
// zero-copy: [Message.Decode] keeps the caller's bytes in [Message.Raw] and
// attribute values are sub-slices of it, valid until the buffer is reused.
// Encoding appends to Raw, so a [Message] that is reused for every packet
// allocates nothing once its buffers have grown (tests assert this with
// testing.AllocsPerRun).
//
// Layers, from the bottom:
//
//   - the 20-byte header ([Type], [TransactionID], [MagicCookie]) and the
//     attribute TLVs (RFC 8489 §5, §14);
//   - typed attribute helpers: XOR-MAPPED-ADDRESS and the TURN XOR
//     addresses (§14.2), ERROR-CODE (§14.8), UNKNOWN-ATTRIBUTES (§14.9),
//     LIFETIME and other integers, and CONNECTION-ID of TCP allocations
//     (RFC 6062 §6.2.1), whose Connect, ConnectionBind and
//     ConnectionAttempt methods are named too (RFC 6062 §6.1);
//   - message authentication: MESSAGE-INTEGRITY (§14.5),
//     MESSAGE-INTEGRITY-SHA256 (§14.6), FINGERPRINT (§14.7), the long-term
//     key derivations (§9.2.2) and USERHASH (§14.4);
//   - TURN ChannelData framing (RFC 8656 §12.4) and stream framing for
//     TCP/TLS, where ChannelData is padded to 4 bytes (RFC 8656 §12.5).
//
// A Message is not safe for concurrent use; give each goroutine its own.
package stun

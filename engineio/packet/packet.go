// Package packet is the pure codec of Engine.IO protocol v4 packets
// (https://github.com/socketio/engine.io-protocol, README, sections
// "Protocol" and "Packet encoding"). It does no I/O, starts no goroutines and
// logs nothing; the engineio server and tests build on it.
//
// A packet is a type digit followed by optional data:
//
//	<packet type>[<data>]
//
// On a WebSocket every packet is its own frame: text packets in text frames,
// binary messages as the raw bytes of a binary frame. On HTTP long-polling
// several packets form a payload separated by the record separator 0x1E, and
// binary messages are written as 'b' followed by their standard base64
// encoding.
package packet

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Type is an Engine.IO packet type (protocol v4, section "Protocol").
type Type byte

// Packet types of Engine.IO v4. On the wire each is the ASCII digit of its
// value ('0' … '6').
const (
	Open    Type = 0 // handshake, server to client, JSON payload
	Close   Type = 1 // the transport can be closed
	Ping    Type = 2 // heartbeat, server to client (and "probe" during upgrade)
	Pong    Type = 3 // heartbeat answer (and "probe" during upgrade)
	Message Type = 4 // application data, text or binary
	Upgrade Type = 5 // client completes an upgrade
	Noop    Type = 6 // ends a pending long-polling request during an upgrade
)

// Separator is the record separator between packets of a long-polling
// payload (section "Packet encoding / HTTP long-polling").
const Separator byte = 0x1E

// BinaryPrefix starts a base64-encoded binary message in a long-polling
// payload (section "Packet encoding / HTTP long-polling").
const BinaryPrefix byte = 'b'

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the protocol's name of t ("open", "message", …).
func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Valid reports whether t is one of the seven packet types of protocol v4.
func (t Type) Valid() bool { return t <= Noop }

// Packet is one decoded Engine.IO packet. Binary is true only for a binary
// message (a binary WebSocket frame, or a 'b' record of a polling payload).
// Data aliases the decoder's input for text packets; the caller must copy it
// to keep it past the input's lifetime.
type Packet struct {
	Type   Type
	Data   []byte
	Binary bool
}

// Errors reported by the decoders. They are wrapped in *Error, which carries
// the position; test with errors.Is.
var (
	ErrEmpty        = errors.New("engine.io packet: empty packet")
	ErrUnknownType  = errors.New("engine.io packet: unknown packet type")
	ErrBase64       = errors.New("engine.io packet: invalid base64 in binary packet")
	ErrInvalidUTF8  = errors.New("engine.io packet: text packet is not valid UTF-8")
	ErrBinaryType   = errors.New("engine.io packet: binary data in a non-message packet")
	ErrTooManyItems = errors.New("engine.io packet: payload has too many packets")
)

// Error is a decoding error: which packet of a payload (Index, 0-based),
// at which byte offset of the input it starts (Offset), and why (Err, one of
// the Err* sentinels).
type Error struct {
	Index  int
	Offset int
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%v (packet %d at byte %d)", e.Err, e.Index, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// DecodeText decodes one text-encoded packet: a WebSocket text frame, or one
// record of a polling payload. A record starting with 'b' is a binary
// message whose base64 data is decoded into a new slice; any other packet's
// Data aliases b. b must be valid UTF-8 (the protocol's character encoding).
func DecodeText(b []byte) (Packet, error) {
	p, err := decodeText(b)
	if err != nil {
		return Packet{}, &Error{Err: err}
	}
	return p, nil
}

func decodeText(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmpty
	}
	if b[0] == BinaryPrefix {
		enc := b[1:]
		// encoding/base64 skips CR and LF; the protocol has none, and
		// refusing them keeps the encoding canonical.
		if bytes.ContainsAny(enc, "\r\n") {
			return Packet{}, ErrBase64
		}
		data := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
		n, err := base64.StdEncoding.Strict().Decode(data, enc)
		if err != nil {
			return Packet{}, ErrBase64
		}
		return Packet{Type: Message, Data: data[:n], Binary: true}, nil
	}
	t := Type(b[0] - '0')
	if b[0] < '0' || !t.Valid() {
		return Packet{}, ErrUnknownType
	}
	if !utf8.Valid(b[1:]) {
		return Packet{}, ErrInvalidUTF8
	}
	return Packet{Type: t, Data: b[1:]}, nil
}

// DecodeBinary decodes a binary WebSocket frame: always a binary message
// whose Data aliases b ("Binary payloads are sent as is").
func DecodeBinary(b []byte) Packet {
	return Packet{Type: Message, Data: b, Binary: true}
}

// AppendText appends the text encoding of p to dst: the type digit and the
// data, or for a binary message 'b' and the base64 of the data. It is the
// form of a WebSocket text frame and of one record of a polling payload. It
// panics if p.Type is invalid or p is binary but not a message, which are
// programming errors.
func AppendText(dst []byte, p Packet) []byte {
	if p.Binary {
		if p.Type != Message {
			panic(ErrBinaryType)
		}
		dst = append(dst, BinaryPrefix)
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	if !p.Type.Valid() {
		panic(ErrUnknownType)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// TextLen returns len(AppendText(nil, p)).
func TextLen(p Packet) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

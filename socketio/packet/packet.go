package packet

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Type is a Socket.IO packet type (socket.io-protocol, "Packet types").
type Type byte

// Packet types of protocol version 5.
const (
	Connect      Type = 0 // CONNECT: join a namespace (payload: auth object)
	Disconnect   Type = 1 // DISCONNECT: leave a namespace (no payload)
	Event        Type = 2 // EVENT: [name, args...]
	Ack          Type = 3 // ACK: [args...], with the id of the EVENT it answers
	ConnectError Type = 4 // CONNECT_ERROR: {"message":..., "data":...}
	BinaryEvent  Type = 5 // BINARY_EVENT: EVENT with binary attachments
	BinaryAck    Type = 6 // BINARY_ACK: ACK with binary attachments
)

// ProtocolVersion is the Socket.IO protocol revision this package speaks.
const ProtocolVersion = 5

// DefaultMaxAttachments is the attachment limit of a zero [Decoder], the
// reference parser's default (DecoderOptions.maxAttachments).
const DefaultMaxAttachments = 10

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven protocol types.
func (t Type) Valid() bool { return t <= BinaryAck }

// ErrInvalid is wrapped by every decoding error.
var ErrInvalid = errors.New("socket.io packet: invalid")

// Packet is one Socket.IO packet.
//
// For EVENT and ACK, Data is a JSON array; placeholders in it refer to
// Attachments by index. A decoded BINARY_EVENT/BINARY_ACK keeps its type, so
// callers can tell a binary packet with zero attachments from a plain one.
type Packet struct {
	Type      Type
	Namespace string // "" means the main namespace "/"
	// ID is the acknowledgement id, meaningful only when HasID is set.
	ID    uint64
	HasID bool
	// Data is the JSON payload; nil when the packet has none.
	Data        json.RawMessage
	Attachments [][]byte
}

// NS returns the packet's namespace with "" normalised to "/".
func (p *Packet) NS() string {
	if p.Namespace == "" {
		return "/"
	}
	return p.Namespace
}

// AppendHeader appends the text message of p to dst. The binary messages that
// follow it are p.Attachments, in order. EVENT and ACK packets that carry
// attachments are sent as BINARY_EVENT and BINARY_ACK, as the reference
// encoder does (Encoder.encode).
func AppendHeader(dst []byte, p *Packet) []byte {
	t := p.Type
	if len(p.Attachments) > 0 {
		switch t {
		case Event:
			t = BinaryEvent
		case Ack:
			t = BinaryAck
		}
	}
	dst = append(dst, '0'+byte(t))
	if t == BinaryEvent || t == BinaryAck {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// Encode returns the messages that carry p: the text header first, then one
// binary message per attachment.
func Encode(p *Packet) (text []byte, binary [][]byte) {
	return AppendHeader(nil, p), p.Attachments
}

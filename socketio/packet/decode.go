package packet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// reservedEvents may not be used as event names: the reference parser rejects
// them (RESERVED_EVENTS in packages/socket.io-parser/lib/index.ts).
var reservedEvents = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// IsReservedEvent reports whether name is an event name the protocol reserves.
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if name == r {
			return true
		}
	}
	return false
}

// UnquoteString decodes the JSON string raw. A string without escapes, the
// usual event name, is decoded without going through encoding/json.
func UnquoteString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	plain := utf8.Valid(body)
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return string(body), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalid, reason) }

// Decoder turns a sequence of Engine.IO messages into packets. A binary packet
// spans its text header and then one binary message per attachment, so the
// decoder keeps the partial packet between calls. The zero value is ready to
// use and limits attachments to [DefaultMaxAttachments].
//
// A Decoder is not safe for concurrent use; one belongs to one connection.
type Decoder struct {
	// MaxAttachments bounds the attachment count of one packet; 0 means
	// DefaultMaxAttachments.
	MaxAttachments int

	pending *Packet
	want    int
}

// Pending reports whether the decoder is waiting for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops a partially received binary packet.
func (d *Decoder) Reset() { d.pending, d.want = nil, 0 }

// Decode consumes one Engine.IO message. It returns the packet once it is
// complete, or nil while attachments are still expected. msg is copied, so the
// caller may reuse it. After an error the decoder is reset.
func (d *Decoder) Decode(msg []byte, binary bool) (*Packet, error) {
	if binary {
		if d.pending == nil {
			return nil, invalid("got binary data when not reconstructing a packet")
		}
		p := d.pending
		p.Attachments = append(p.Attachments, bytes.Clone(msg))
		if len(p.Attachments) < d.want {
			return nil, nil
		}
		d.Reset()
		if err := checkPlaceholders(p.Data, len(p.Attachments)); err != nil {
			return nil, err
		}
		return p, nil
	}
	if d.pending != nil {
		d.Reset()
		return nil, invalid("got plaintext data when reconstructing a packet")
	}
	max := d.MaxAttachments
	if max <= 0 {
		max = DefaultMaxAttachments
	}
	p, n, err := parseHeader(msg, max)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		d.pending, d.want = p, n
		p.Attachments = make([][]byte, 0, n)
		return nil, nil
	}
	return p, nil
}

// parseHeader decodes a text message (decodeString in the reference parser)
// and returns the packet and the number of attachments that follow it.
func parseHeader(s []byte, maxAttachments int) (*Packet, int, error) {
	if len(s) == 0 {
		return nil, 0, invalid("empty packet")
	}
	c := s[0]
	if c < '0' || c > '9' || !Type(c-'0').Valid() {
		return nil, 0, invalid("unknown packet type")
	}
	p := &Packet{Type: Type(c - '0')}
	i := 1
	n := 0
	if p.Type == BinaryEvent || p.Type == BinaryAck {
		start := i
		for i < len(s) && s[i] != '-' {
			if s[i] < '0' || s[i] > '9' || i-start > 6 {
				return nil, 0, invalid("illegal attachments")
			}
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == len(s) || i == start {
			return nil, 0, invalid("illegal attachments")
		}
		if n > maxAttachments {
			return nil, 0, invalid("too many attachments")
		}
		i++ // '-'
	}
	if i < len(s) && s[i] == '/' {
		start := i
		for i < len(s) && s[i] != ',' {
			i++
		}
		p.Namespace = string(s[start:i])
		if i < len(s) {
			i++ // ','
		}
	}
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		var id uint64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			d := uint64(s[i] - '0')
			if id > (1<<64-1-d)/10 {
				return nil, 0, invalid("ack id out of range")
			}
			id = id*10 + d
			i++
		}
		p.ID, p.HasID = id, true
	}
	if i < len(s) {
		data := bytes.TrimSpace(s[i:])
		if !json.Valid(data) || !payloadValid(p.Type, data) {
			return nil, 0, invalid("invalid payload")
		}
		p.Data = bytes.Clone(data)
	}
	if p.HasID && p.Type != Event && p.Type != Ack && p.Type != BinaryEvent && p.Type != BinaryAck {
		return nil, 0, invalid("ack id on a packet that cannot carry one")
	}
	return p, n, nil
}

// payloadValid mirrors Decoder.isPayloadValid of the reference parser. data is
// valid JSON without surrounding white space.
func payloadValid(t Type, data []byte) bool {
	switch t {
	case Connect:
		return data[0] == '{'
	case Disconnect:
		return false
	case ConnectError:
		return data[0] == '{' || data[0] == '"'
	case Event, BinaryEvent:
		elems, err := SplitArray(data)
		if err != nil || len(elems) == 0 {
			return false
		}
		first := elems[0]
		switch {
		case first[0] == '"':
			name, ok := UnquoteString(first)
			return ok && !IsReservedEvent(name)
		case first[0] == '-' || (first[0] >= '0' && first[0] <= '9'):
			return true
		}
		return false
	case Ack, BinaryAck:
		return data[0] == '['
	}
	return false
}

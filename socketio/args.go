package socketio

import (
	"encoding/json"
	"fmt"

	"github.com/switchboard/switchboard/socketio/packet"
)

// Args are the arguments of a received event or acknowledgement, in wire
// order. Each argument keeps the exact JSON the peer sent; binary values are
// placeholders that refer to Attachments. Args are immutable and safe to keep
// after the handler returns.
type Args struct {
	raw  []json.RawMessage
	atts [][]byte
}

// NewArgs makes Args from raw JSON arguments and the attachments their
// placeholders refer to, for adapters that receive events from other nodes.
func NewArgs(raw []json.RawMessage, attachments [][]byte) Args {
	return Args{raw: raw, atts: attachments}
}

// newArgs splits a decoded payload array; skip drops leading elements (the
// event name).
func newArgs(p *packet.Packet, skip int) (Args, error) {
	if p.Data == nil {
		return Args{}, nil
	}
	elems, err := packet.SplitArray(p.Data)
	if err != nil {
		return Args{}, err
	}
	if skip > len(elems) {
		skip = len(elems)
	}
	return Args{raw: elems[skip:], atts: p.Attachments}, nil
}

// Len is the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as sent by the peer, or nil when i is out of range.
// Binary values appear as {"_placeholder":true,"num":N} objects.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Attachments returns the binary attachments the placeholders refer to.
func (a Args) Attachments() [][]byte { return a.atts }

// Decode unmarshals argument i into v with encoding/json. Binary values are
// presented as base64 strings first, so they land in []byte fields. A missing
// argument decodes as JSON null.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		raw = json.RawMessage("null")
	}
	data, err := packet.InlineAttachments(raw, a.atts)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("socketio: argument %d: %w", i, err)
	}
	return nil
}

// Bytes returns argument i when it is itself a binary attachment.
func (a Args) Bytes(i int) ([]byte, bool) {
	raw := a.Raw(i)
	if raw == nil || len(a.atts) == 0 {
		return nil, false
	}
	phs, err := packet.Placeholders(raw, len(a.atts))
	if err != nil || len(phs) != 1 || phs[0].Start != 0 || phs[0].End != len(raw) {
		return nil, false
	}
	return a.atts[phs[0].Num], true
}

// String returns argument i when it is a JSON string.
func (a Args) String(i int) (string, bool) {
	return packet.UnquoteString(a.Raw(i))
}

// Values returns the arguments as values that Emit sends exactly as they were
// received, binary attachments included:
//
//	s.Emit("echo", args.Values()...)
func (a Args) Values() []any {
	out := make([]any, len(a.raw))
	for i, r := range a.raw {
		out[i] = packet.Raw{JSON: r, Attachments: a.atts}
	}
	return out
}

// Multi is an acknowledgement of several arguments. A handler that returns
// Multi{a, b} answers with the ACK payload [a, b]; returning Args echoes them.
type Multi []any

// NoAck, returned by an EventHandler, leaves the client's ack request
// unanswered (as a JavaScript handler that never calls its callback does);
// the client's own ack timeout then applies.
var NoAck any = noAck{}

type noAck struct{}

// ackValues turns a handler's result into the arguments of an ACK packet.
func ackValues(ack any, err error) []any {
	if err != nil {
		return []any{map[string]any{"message": err.Error()}}
	}
	switch v := ack.(type) {
	case nil:
		return nil
	case Multi:
		return v
	case Args:
		return v.Values()
	case *Args:
		return v.Values()
	}
	return []any{ack}
}

// buildPayload encodes the array [head?, args...] with binary extraction.
func buildPayload(head *string, args []any) (json.RawMessage, [][]byte, error) {
	buf := make([]byte, 0, 64)
	var atts [][]byte
	buf = append(buf, '[')
	if head != nil {
		buf = packet.AppendString(buf, *head)
	}
	for i, v := range args {
		if i > 0 || head != nil {
			buf = append(buf, ',')
		}
		var err error
		if buf, atts, err = packet.AppendValue(buf, atts, v); err != nil {
			return nil, nil, err
		}
	}
	return append(buf, ']'), atts, nil
}

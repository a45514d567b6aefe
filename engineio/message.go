package engineio

import (
	"sync"
	"sync/atomic"

	"github.com/switchboard/switchboard/engineio/packet"
	"github.com/switchboard/switchboard/websocket"
)

// Message is an Engine.IO message packet encoded once, to be sent to any
// number of sockets on any transport: the layer above builds one Message for
// a broadcast and passes it to every receiver's SendMessage. A Message is
// immutable and safe for concurrent use.
//
// The encodings are made when first needed and then shared: the text packet
// ("4" + data: a WebSocket text frame, or a polling record), the polling
// record of a binary message ('b' + base64), and the WebSocket frame
// (encoded once by the WebSocket engine).
type Message struct {
	typ    packet.Type
	binary bool
	// wire is the text encoding for text packets ("4hello"), the raw bytes
	// for binary messages.
	wire []byte

	b64Once sync.Once
	b64     []byte // polling record of a binary message

	wsSends  atomic.Int32 // WebSocket sends so far; the second prepares the frame
	prepOnce sync.Once
	prep     *websocket.PreparedMessage // the WebSocket frame, see wsTransport.send
}

// NewMessage encodes a message packet carrying data, a binary message when
// binary is true (sent in a binary WebSocket frame, or base64 on polling).
// Text data must be valid UTF-8 (the protocol's character encoding). data is
// copied.
func NewMessage(data []byte, binary bool) *Message {
	if binary {
		return &Message{typ: packet.Message, binary: true, wire: append([]byte(nil), data...)}
	}
	return newText(packet.Message, data)
}

// newText encodes a text packet of any type.
func newText(t packet.Type, data []byte) *Message {
	return &Message{typ: t, wire: packet.AppendText(make([]byte, 0, 1+len(data)), packet.Packet{Type: t, Data: data})}
}

// Data returns the message's payload. The caller must not modify it.
func (m *Message) Data() []byte {
	if m.binary {
		return m.wire
	}
	return m.wire[1:]
}

// Binary reports whether m is a binary message.
func (m *Message) Binary() bool { return m.binary }

// record returns m's text encoding: a WebSocket text frame's payload and a
// polling record.
func (m *Message) record() []byte {
	if !m.binary {
		return m.wire
	}
	m.b64Once.Do(func() {
		m.b64 = packet.AppendText(nil, packet.Packet{Type: packet.Message, Data: m.wire, Binary: true})
	})
	return m.b64
}

// size is what m costs in a session's outbound queue.
func (m *Message) size() int { return len(m.wire) }

// appendPayload appends the polling payload of msgs to dst (section "Packet
// encoding / HTTP long-polling": records joined by 0x1E).
func appendPayload(dst []byte, msgs []*Message) []byte {
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, packet.Separator)
		}
		dst = append(dst, m.record()...)
	}
	return dst
}

package websocket

import (
	"errors"
	"sync"

	"github.com/switchboard/switchboard/websocket/frame"
)

// PreparedMessage is a message encoded once for many connections: its
// plain frame at construction, its compressed frame on first use by a
// connection that negotiated permessage-deflate.
type PreparedMessage struct {
	op    frame.Opcode
	data  []byte
	plain []byte

	once sync.Once
	z    []byte // compressed frame, nil if compression does not pay
}

// NewPreparedMessage encodes data as a typ message. data is copied.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if typ != TextMessage && typ != BinaryMessage {
		return nil, errors.New("websocket: NewPreparedMessage: invalid message type")
	}
	pm := &PreparedMessage{op: frame.Opcode(typ), data: append([]byte(nil), data...)}
	pm.plain = frame.AppendFrame(make([]byte, 0, frame.MaxHeaderSize+len(data)), pm.op, true, false, data)
	return pm, nil
}

// frame returns the bytes to queue for a server-side connection c.
func (pm *PreparedMessage) frame(c *Conn) []byte {
	if !c.deflate || c.huffOnly || len(pm.data) < c.cfg.CompressionThreshold {
		return pm.plain
	}
	pm.once.Do(func() {
		z := compress(pm.data, c.cfg.CompressionLevel)
		if len(z) < len(pm.data) {
			pm.z = frame.AppendFrame(make([]byte, 0, frame.MaxHeaderSize+len(z)), pm.op, true, true, z)
		}
		pool.Put(z)
	})
	if pm.z == nil {
		return pm.plain
	}
	return pm.z
}

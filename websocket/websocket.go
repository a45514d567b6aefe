package websocket

import "github.com/switchboard/switchboard/websocket/frame"

// MessageType is the type of a data message (RFC 6455 §5.6).
type MessageType byte

// Message types.
const (
	TextMessage   MessageType = MessageType(frame.OpText)
	BinaryMessage MessageType = MessageType(frame.OpBinary)
)

func (t MessageType) String() string {
	switch t {
	case TextMessage:
		return "text"
	case BinaryMessage:
		return "binary"
	}
	return "invalid"
}

// Handler receives a connection's events. The methods for one connection
// are called one at a time, from the goroutine that reads the connection (an
// event loop on Linux). They must not block: a handler that needs to wait
// hands the work to another goroutine, which may then write to the Conn.
type Handler interface {
	// OnOpen is called once, before any OnMessage.
	OnOpen(c *Conn)
	// OnMessage is called for each complete message. data is valid only
	// until OnMessage returns; copy it to keep it.
	OnMessage(c *Conn, typ MessageType, data []byte)
	// OnClose is called exactly once, after the connection is closed. err
	// is a *CloseError for a close handshake (either side's), ErrSlowConsumer,
	// or the I/O error that ended the connection.
	OnClose(c *Conn, err error)
}

// HandlerFuncs adapts plain functions to Handler; nil fields do nothing.
type HandlerFuncs struct {
	Open    func(c *Conn)
	Message func(c *Conn, typ MessageType, data []byte)
	Close   func(c *Conn, err error)
}

// OnOpen implements Handler.
func (f HandlerFuncs) OnOpen(c *Conn) {
	if f.Open != nil {
		f.Open(c)
	}
}

// OnMessage implements Handler.
func (f HandlerFuncs) OnMessage(c *Conn, typ MessageType, data []byte) {
	if f.Message != nil {
		f.Message(c, typ, data)
	}
}

// OnClose implements Handler.
func (f HandlerFuncs) OnClose(c *Conn, err error) {
	if f.Close != nil {
		f.Close(c, err)
	}
}

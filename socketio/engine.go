package socketio

import (
	"sync"

	"github.com/switchboard/switchboard/engineio"
)

// EngineHandler returns the engineio.Handler that attaches every Engine.IO
// session of an engineio.Server to s:
//
//	sio, _ := socketio.New(socketio.Config{})
//	eio, _ := engineio.New(engineio.Config{Handler: sio.EngineHandler()})
//	mux.Handle("/socket.io/", eio)
//
// Shut the engineio.Server down after s.
func (s *Server) EngineHandler() engineio.Handler { return engineHandler{s} }

type engineHandler struct{ srv *Server }

func (h engineHandler) OnOpen(es *engineio.Socket) {
	// No copy of the request: the session keeps a compact one, which
	// Socket.Handshake asks for when needed (client.request).
	c, err := h.srv.Open(es, nil)
	if err != nil {
		es.Close()
		return
	}
	es.SetValue(c)
}

func (h engineHandler) OnMessage(es *engineio.Socket, data []byte, binary bool) {
	if c, ok := es.Value().(*Conn); ok {
		c.Receive(data, binary)
	}
}

func (h engineHandler) OnClose(es *engineio.Socket, reason engineio.Reason, _ error) {
	if c, ok := es.Value().(*Conn); ok {
		c.Closed(string(reason))
	}
}

// messageSender is implemented by *engineio.Socket: it takes a message
// encoded once for any number of sessions.
type messageSender interface {
	SendMessage(m *engineio.Message) error
}

// outPacket is an encoded Socket.IO packet: its text message and attachments,
// and, made once on first use, their Engine.IO messages, shared by every
// connection a broadcast reaches.
type outPacket struct {
	text []byte
	bins [][]byte

	once sync.Once
	msgs []*engineio.Message
}

func (o *outPacket) engineMessages() []*engineio.Message {
	o.once.Do(func() {
		o.msgs = make([]*engineio.Message, 0, 1+len(o.bins))
		o.msgs = append(o.msgs, engineio.NewMessage(o.text, false))
		for _, b := range o.bins {
			o.msgs = append(o.msgs, engineio.NewMessage(b, true))
		}
	})
	return o.msgs
}

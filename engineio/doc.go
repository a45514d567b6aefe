// Package engineio is an Engine.IO protocol v4 server
// (https://github.com/socketio/engine.io-protocol): the session layer under
// Socket.IO. It speaks HTTP long-polling and WebSocket, upgrades a session
// from polling to WebSocket, runs the heartbeat and enforces maxPayload;
// the wire format is package engineio/packet.
//
// # Use
//
//	srv, err := engineio.New(engineio.Config{Handler: h})
//	mux.Handle("/engine.io/", srv)
//	...
//	srv.Shutdown(ctx)
//
// The Server is an http.Handler. WebSocket requests are upgraded by a
// websocket.Server: pass the program's own in Config.WebSocket (the one that
// runs its listener with Serve, so that connections live in the event loops)
// or let New make one for upgrades from net/http.
//
// # Handler contract
//
// The layer above implements Handler:
//
//   - OnOpen(s) is called once per session, after the handshake, before any
//     other call for s. Packets sent from OnOpen on polling leave with the
//     handshake response.
//   - OnMessage(s, data, binary) is called for each message of s, in the
//     order the client sent them, one call at a time. data is valid only
//     during the call.
//   - OnClose(s, reason, err) is called exactly once, after the last
//     OnMessage has returned; err carries the detail of
//     ReasonTransportError and ReasonParseError.
//
// The calls run on the goroutine that read the input: a net/http handler
// for polling, the WebSocket engine's reader (an event loop) for WebSocket.
// They must not block; long work goes to another goroutine, which may call
// Send.
//
// # Sending
//
// Socket.Send and Socket.SendMessage queue one message and return; they never
// wait for the network. A Message is encoded once and may be sent to any
// number of sockets: that is how a broadcast encodes its packet once. Each
// session has one outbound queue and one writer: on WebSocket the
// connection's bounded output buffer, written by its owner; on polling the
// session's queue (bounded by Config.WriteQueueLimit), written by the
// client's pending GET. A client that does not keep up is disconnected with
// ErrSlowConsumer rather than allowed to grow memory.
//
// # Heartbeat and limits
//
// The server pings every PingInterval after the handshake or the last pong
// and closes a session whose pong is not back PingTimeout after the ping
// was due (ReasonPingTimeout); both are configurable down to a millisecond.
// A POST body or WebSocket message over MaxPayload closes the session (HTTP
// 413 for a POST). Polling responses of HTTPCompressionThreshold bytes and
// more are gzipped for clients that accept it.
//
// # Closing
//
// Every close path removes the session: the client's close packet or
// disconnection, a ping timeout, a malformed packet, an oversized payload,
// overlapping polls or posts, Socket.Close and Server.Shutdown. A pending
// poll is always answered: with the queued packets, a close packet when
// the server ends the session, or a noop when the client closes or the
// session upgrades (while a probed upgrade waits for the client's upgrade
// packet, a poll that no packet answers gets a noop within 100 ms).
package engineio

// Handler receives the events of the Server's sessions. See the package
// documentation for when and where its methods are called.
type Handler interface {
	OnOpen(s *Socket)
	OnMessage(s *Socket, data []byte, binary bool)
	OnClose(s *Socket, reason Reason, err error)
}

// HandlerFuncs adapts plain functions to Handler; nil fields do nothing.
type HandlerFuncs struct {
	Open    func(s *Socket)
	Message func(s *Socket, data []byte, binary bool)
	Close   func(s *Socket, reason Reason, err error)
}

// OnOpen implements Handler.
func (f HandlerFuncs) OnOpen(s *Socket) {
	if f.Open != nil {
		f.Open(s)
	}
}

// OnMessage implements Handler.
func (f HandlerFuncs) OnMessage(s *Socket, data []byte, binary bool) {
	if f.Message != nil {
		f.Message(s, data, binary)
	}
}

// OnClose implements Handler.
func (f HandlerFuncs) OnClose(s *Socket, reason Reason, err error) {
	if f.Close != nil {
		f.Close(s, reason, err)
	}
}

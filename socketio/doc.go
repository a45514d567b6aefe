// Package socketio is a Socket.IO v5 server
// (https://github.com/socketio/socket.io-protocol) for socket.io-client 3.x
// and 4.x, on top of an Engine.IO v4 transport.
//
// # Handlers
//
// Handlers are registered on a namespace, take a context and return their
// acknowledgement instead of calling callbacks:
//
//	srv, _ := socketio.New(socketio.Config{})
//	chat := srv.Of("/chat")
//	chat.Use(func(ctx context.Context, s *socketio.Socket) error {
//		if !validToken(s.Handshake().Auth) {
//			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"retry": false}}
//		}
//		return nil
//	})
//	chat.On("join", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
//		var room string
//		if err := args.Decode(0, &room); err != nil {
//			return nil, err // the client's ack receives {"message": ...}
//		}
//		s.Join(room)
//		return map[string]any{"ok": true}, nil
//	})
//
// Handle wraps a typed function: its argument is decoded from the event's
// first argument and its result is the ack.
//
// The handlers of one connection run one at a time, in the order its packets
// arrived, on a goroutine that exists only while there is work; ctx is
// cancelled when the socket disconnects. Acknowledgements from the client are
// delivered without waiting for handlers, so a handler may block in
// EmitWithAck:
//
//	reply, err := s.EmitWithAck(ctx, "confirm", "are you sure?")
//
// # Arguments and binary data
//
// Received arguments are Args: the exact JSON the client sent (key order
// included), decoded on demand with Args.Decode. Binary attachments at any
// depth decode into []byte fields; Args.Values re-emits them unchanged. When
// sending, a []byte anywhere in slices, arrays, maps or pointers becomes a
// binary attachment ({"_placeholder":true,"num":N}); json.RawMessage is sent
// byte for byte; other values go through encoding/json without HTML
// escaping.
//
// # Broadcasting
//
// Namespace and Socket return a BroadcastOperator:
//
//	nsp.To("room").Except("muted").Emit("msg", text)
//	s.Broadcast().Volatile().Emit("cursor", x, y)
//	replies, err := nsp.To("voters").EmitWithAck(ctx, "vote")
//
// A broadcast is encoded once and the same bytes are handed to every
// Engine.IO connection. FetchSockets, CountSockets, SocketsJoin, SocketsLeave
// and DisconnectSockets act on the selected sockets of every node. Rooms and
// broadcasts go through the namespace's Adapter (in memory by default; a
// cluster adapter implements the same interface).
//
// # Acknowledgements
//
// When the client asks for an ack, the handler's result answers it: nil
// sends an empty ACK, Multi{a, b} several arguments, Args echoes what was
// received, an error {"message": err.Error()}, and NoAck nothing at all (the
// client's own timeout then applies, as with a JavaScript handler that never
// calls its callback).
//
// # Lifecycle
//
// New starts nothing. Serve it through package engineio:
//
//	sio, _ := socketio.New(socketio.Config{})
//	eio, _ := engineio.New(engineio.Config{Handler: sio.EngineHandler()})
//	mux.Handle("/socket.io/", eio)
//
// (any other transport can hand sessions to Open and feed them with
// Conn.Receive and Conn.Closed). Shutdown disconnects every socket with
// ReasonServerShuttingDown and waits for running handlers; shut the
// engineio.Server down after it.
//
// Connection-state recovery (Config.Recovery) is off by default. When on,
// every broadcast event without ack carries an offset as its last argument
// (socket.io-client removes it) and is kept for
// RecoveryConfig.MaxDisconnectionDuration; a client that reconnects in time
// with its pid and last offset gets its id, rooms and data back, and the
// missed events.
package socketio

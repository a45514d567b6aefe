package main

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
)

func init() { addMount("protocol", mountSocketIOProtocol) }

// mountSocketIOProtocol serves "/socket.io/" as the socket.io-protocol test
// suite expects (its README's reference server): namespaces "/" and
// "/custom"; on connect each emits "auth" with the CONNECT payload; "message"
// re-emits its arguments as "message-back"; "message-with-ack" acks with its
// arguments; other namespaces are refused ("Invalid namespace").
func mountSocketIOProtocol(e *env) (func(context.Context) error, error) {
	sio, err := socketio.New(socketio.Config{
		ConnectTimeout: 1000 * time.Millisecond,
		Logger:         e.log,
	})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"/", "/custom"} {
		nsp := sio.Of(name)
		nsp.OnConnection(func(ctx context.Context, s *socketio.Socket) {
			_ = s.Emit("auth", s.Handshake().Auth)
		})
		nsp.On("message", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			return nil, s.Emit("message-back", args.Values()...)
		})
		nsp.On("message-with-ack", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			return args, nil
		})
	}
	eio, err := engineio.New(engineio.Config{
		Handler:      sio.EngineHandler(),
		PingInterval: protocolPingInterval,
		PingTimeout:  protocolPingTimeout,
		MaxPayload:   protocolMaxPayload,
		CORS:         engineio.CORS{Origins: []string{"*"}},
		WebSocket:    e.ws,
		Logger:       e.log,
	})
	if err != nil {
		return nil, err
	}
	e.mux.Handle("/socket.io/", eio)
	return func(ctx context.Context) error {
		return errors.Join(sio.Shutdown(ctx), eio.Shutdown(ctx))
	}, nil
}

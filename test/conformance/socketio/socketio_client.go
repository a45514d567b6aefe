package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

func init() { addMount("client", mountSocketIOClient) }

// Settings of the "client" profile, from socket.io's
// packages/socket.io-client/test/support/server.ts.
const (
	clientPingInterval = 2000 * time.Millisecond
	clientAllowDelay   = 10 * time.Millisecond // allowRequest's fixed delay
)

// mountSocketIOClient reproduces the support server of socket.io-client's own
// test suite (packages/socket.io-client/test/support/server.ts): every
// namespace, middleware and handler it defines, with connection-state
// recovery on (its connectionStateRecovery: {}).
func mountSocketIOClient(e *env) (func(context.Context) error, error) {
	sio, err := socketio.New(socketio.Config{Recovery: &socketio.RecoveryConfig{}, Logger: e.log})
	if err != nil {
		return nil, err
	}

	sio.Of("/foo").On("getId", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		return s.ID(), nil
	})
	for _, name := range []string{"/timeout_socket", "/valid", "/asd"} {
		sio.Of(name) // registered, no handlers
	}
	sio.Of("/abc").OnConnection(func(ctx context.Context, s *socketio.Socket) {
		_ = s.Emit("handshake", s.Handshake())
	})
	sio.Use(func(ctx context.Context, s *socketio.Socket) error {
		if s.Handshake().Query.Get("fail") != "" {
			return &socketio.ConnectError{Message: "Auth failed (main namespace)"}
		}
		return nil
	})
	sio.Of("/no").Use(func(ctx context.Context, s *socketio.Socket) error {
		return &socketio.ConnectError{Message: "Auth failed (custom namespace)"}
	})
	mountClientMain(sio.Of("/"))

	eio, err := engineio.New(engineio.Config{
		Handler:      sio.EngineHandler(),
		PingInterval: clientPingInterval,
		AllowRequest: func(*http.Request) error {
			time.Sleep(clientAllowDelay) // to test the client's connection timeout
			return nil
		},
		CORS:      engineio.CORS{Origins: []string{"*"}},
		WebSocket: e.ws,
		Logger:    e.log,
	})
	if err != nil {
		return nil, err
	}
	e.mux.Handle("/socket.io/", eio)
	return func(ctx context.Context) error {
		return errors.Join(sio.Shutdown(ctx), eio.Shutdown(ctx))
	}, nil
}

// handler is shorthand for an event handler that only emits back.
type handler = socketio.EventHandler

func emitting(event string, args ...any) handler {
	return func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		return socketio.NoAck, s.Emit(event, args...)
	}
}

// isBinary reports whether raw is exactly one binary placeholder.
func isBinary(raw json.RawMessage, atts int) bool {
	phs, err := packet.Placeholders(raw, atts)
	return err == nil && len(phs) == 1 && phs[0].Start == 0 && phs[0].End == len(raw)
}

// mixed checks the {hello: "lol", message: <binary>, goodbye: "gotcha"}
// payload of the "jsonbuff" and "jsonblob" events.
func mixed(args socketio.Args) bool {
	var v struct {
		Hello   string          `json:"hello"`
		Message json.RawMessage `json:"message"`
		Goodbye string          `json:"goodbye"`
	}
	return json.Unmarshal(args.Raw(0), &v) == nil && v.Hello == "lol" && v.Goodbye == "gotcha" &&
		isBinary(v.Message, len(args.Attachments()))
}

func mountClientMain(nsp *socketio.Namespace) {
	nsp.On("hi", emitting("hi"))
	nsp.On("echo", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		return socketio.Multi(args.Values()[:min(1, args.Len())]), nil // cb(arg)
	})
	nsp.On("ack", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		// socket.emit("ack", (a, b) => ...): the reply may take as long as
		// the client likes, so the wait must not hold up the socket's next
		// packets; it ends with the socket at the latest.
		go func() {
			reply, err := s.EmitWithAck(s.Context(), "ack")
			if err != nil {
				return
			}
			var a int
			var b struct{ Test bool }
			if reply.Decode(0, &a) == nil && reply.Decode(1, &b) == nil && a == 5 && b.Test {
				_ = s.Emit("got it")
			}
		}()
		return socketio.NoAck, nil
	})
	nsp.On("getAckDate", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		return time.Now(), nil
	})
	nsp.On("getDate", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		return socketio.NoAck, s.Emit("takeDate", time.Now())
	})
	nsp.On("getDateObj", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		return socketio.NoAck, s.Emit("takeDateObj", map[string]any{"date": time.Now()})
	})
	nsp.On("getUtf8", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		for _, txt := range []string{"てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string", "utf8 — string"} {
			if err := s.Emit("takeUtf8", txt); err != nil {
				return nil, err
			}
		}
		return socketio.NoAck, nil
	})
	nsp.On("false", emitting("false", false))
	nsp.On("doge", emitting("doge", []byte("asdfasdf")))
	nsp.On("getbin", emitting("takebin", []byte("asdfasdf")))
	nsp.On("buffa", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		if _, ok := args.Bytes(0); ok {
			return socketio.NoAck, s.Emit("buffack")
		}
		return socketio.NoAck, nil
	})
	nsp.On("blob", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		if _, ok := args.Bytes(0); ok {
			return socketio.NoAck, s.Emit("back")
		}
		return socketio.NoAck, nil
	})
	nsp.On("jsonbuff", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		if mixed(args) {
			return socketio.NoAck, s.Emit("jsonbuff-ack")
		}
		return socketio.NoAck, nil
	})
	nsp.On("jsonblob", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		if mixed(args) {
			return socketio.NoAck, s.Emit("jsonblob-ack")
		}
		return socketio.NoAck, nil
	})
	nsp.On("getHandshake", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		return s.Handshake(), nil
	})
	nsp.On("getId", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) (any, error) {
		return s.ID(), nil
	})

	// Ordering checks keep per-socket state, so they are per-socket handlers.
	nsp.OnConnection(func(ctx context.Context, s *socketio.Socket) {
		var abuff1, blob1, blob2 bool
		s.On("abuff1", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			_, abuff1 = args.Bytes(0)
			return socketio.NoAck, nil
		})
		s.On("abuff2", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			if abuff1 {
				return socketio.NoAck, s.Emit("abuff2-ack")
			}
			return socketio.NoAck, nil
		})
		s.On("blob1", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			_, blob1 = args.Bytes(0)
			return socketio.NoAck, nil
		})
		s.On("blob2", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			str, _ := args.String(0)
			blob2 = blob1 && str == "second"
			return socketio.NoAck, nil
		})
		s.On("blob3", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
			if _, ok := args.Bytes(0); ok && blob1 && blob2 {
				return socketio.NoAck, s.Emit("blob3-ack")
			}
			return socketio.NoAck, nil
		})
	})
}

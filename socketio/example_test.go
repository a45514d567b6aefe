package socketio_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
)

func Example() {
	sio, err := socketio.New(socketio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	chat := sio.Of("/chat")
	chat.Use(func(ctx context.Context, s *socketio.Socket) error {
		if s.Handshake().Query.Get("token") == "" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"retry": false}}
		}
		return nil
	})
	chat.On("join", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		room, ok := args.String(0)
		if !ok {
			return nil, errors.New("join wants a room name")
		}
		s.Join(room)
		return map[string]any{"ok": true}, s.To(room).Emit("joined", s.ID())
	})
	chat.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		log.Printf("%s left: %s", s.ID(), reason)
	})

	eio, err := engineio.New(engineio.Config{Handler: sio.EngineHandler()})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", eio)
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux}
	go srv.ListenAndServe()

	// ... and on the way out:
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sio.Shutdown(ctx)
	eio.Shutdown(ctx)
	srv.Shutdown(ctx)
}

func ExampleHandle() {
	sio, _ := socketio.New(socketio.Config{})
	type sum struct{ A, B int }
	socketio.Handle(sio.Of("/"), "add", func(ctx context.Context, s *socketio.Socket, in sum) (int, error) {
		return in.A + in.B, nil // the client's ack receives [A+B]
	})
}

func ExampleSocket_EmitWithAck() {
	sio, _ := socketio.New(socketio.Config{})
	sio.On("checkout", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		reply, err := s.EmitWithAck(ctx, "confirm", "pay 10 EUR?")
		if err != nil {
			return nil, err // timed out or disconnected
		}
		var yes bool
		if err := reply.Decode(0, &yes); err != nil || !yes {
			return map[string]any{"ok": false}, nil
		}
		return map[string]any{"ok": true}, nil
	})
}

func ExampleBroadcastOperator_EmitWithAck() {
	sio, _ := socketio.New(socketio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	replies, err := sio.Of("/").To("voters").EmitWithAck(ctx, "vote", "lunch?")
	log.Printf("%d votes (%v)", len(replies), err)
}

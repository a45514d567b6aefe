package engineio_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// An echo server: every message goes back to its sender, text as text and
// binary as binary.
func Example() {
	srv, err := engineio.New(engineio.Config{
		Handler: engineio.HandlerFuncs{
			Message: func(s *engineio.Socket, data []byte, binary bool) {
				_ = s.Send(data, binary) // queues; never waits for the network
			},
		},
		CORS: engineio.CORS{Origins: []string{"*"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	_ = hs // hs.ListenAndServe() serves until hs.Shutdown

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx) // closes every session and waits for them to drain
	// Output:
}

// Broadcasting: one Message, encoded once, sent to many sockets.
func ExampleMessage() {
	var room []*engineio.Socket // filled from Handler.OnOpen
	m := engineio.NewMessage([]byte(`42["news","hello"]`), false)
	for _, s := range room {
		_ = s.SendMessage(m) // a slow consumer is closed, not waited for
	}
	// Output:
}

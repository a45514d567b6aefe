package signaling_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/signaling"
)

// Mount /signal in your own server, with signed join tokens and TURN
// credentials for the browsers.
func ExampleNew() {
	auth := &signaling.HMACAuth{Secret: []byte("join-token-secret")}
	sig, err := signaling.New(signaling.Config{
		Auth:        auth,
		TURNSecret:  "turn-rest-secret", // the same secret as the TURN server's
		MaxRoomSize: 4,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/signal", sig)
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: mux}
	_ = srv // srv.ListenAndServe() …

	// On the way out: disconnect the signaling clients, then the rest.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sig.Shutdown(ctx)
	_ = srv.Shutdown(ctx)
}

// Issue a token that admits its bearer to one room under a fixed name; the
// browser sends it as the join frame's "token" (or in ?token= on the URL).
func ExampleHMACAuth_Token() {
	auth := &signaling.HMACAuth{Secret: []byte("join-token-secret")}
	tok := auth.Token(signaling.TokenClaims{
		Room:    "standup",
		Name:    "Ada",
		Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
	})
	fmt.Println(len(tok) > 0)
	// Output: true
}

package sioservice

import (
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/socketio"
)

// errUnauthorized is the CONNECT_ERROR message for a missing or invalid
// token; the reason is logged, not sent.
var errUnauthorized = &socketio.ConnectError{Message: "unauthorized"}

// errForbidden acks a join or publish the token's claims do not admit.
var errForbidden = errors.New("forbidden")

// authenticate is the connection middleware: it verifies the token of the
// CONNECT auth payload {"token": "..."} and keeps the claims as the socket's
// Data.
func authenticate(v *auth.Verifier, s *socketio.Socket, log *slog.Logger) error {
	var payload struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(s.Handshake().Auth, &payload); err != nil || payload.Token == "" {
		log.Debug("sioservice: connect without a token", "conn", s.ConnID())
		return errUnauthorized
	}
	c, err := v.Verify(payload.Token)
	if err != nil {
		log.Debug("sioservice: token refused", "conn", s.ConnID(), "err", err)
		return errUnauthorized
	}
	s.SetData(c)
	return nil
}

// noClaims admits nothing: a socket of an authenticated namespace whose Data
// is not its claims is refused, never let through.
var noClaims = &auth.Claims{}

// claimsOf returns the claims authenticate kept for s.
func claimsOf(s *socketio.Socket) *auth.Claims {
	if c, ok := s.Data().(*auth.Claims); ok && c != nil {
		return c
	}
	return noClaims
}

package peerjs

import (
	"fmt"

	"github.com/switchboard/switchboard/auth"
)

// Authenticator admits PeerJS clients by the token they connect with.
type Authenticator interface {
	// AuthenticatePeer returns nil to let the client with token take id.
	// An error refuses it; the text is logged, not sent. It is called on
	// the connection's event loop and must not block for long.
	AuthenticatePeer(token, id string) error
}

// JWTAuth returns an Authenticator that verifies the token as a JWT with v
// (RFC 7519; see package auth). A token with a "sub" claim admits only the
// peer id equal to it, so that nobody can take another user's id and receive
// the offers meant for them; a token without "sub" admits any id. PeerJS has
// no rooms, so the "rooms" and "publish" claims do not apply.
//
// The token stays the id's reconnect credential as with random tokens: the
// same token takes the id back within Config.LeaveGrace.
func JWTAuth(v *auth.Verifier) Authenticator { return jwtAuth{v} }

type jwtAuth struct{ v *auth.Verifier }

func (a jwtAuth) AuthenticatePeer(token, id string) error {
	c, err := a.v.Verify(token)
	if err != nil {
		return err
	}
	if c.Subject != "" && c.Subject != id {
		return fmt.Errorf("peerjs: the token is for peer id %q", c.Subject)
	}
	return nil
}

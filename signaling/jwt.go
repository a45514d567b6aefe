package signaling

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/signaling/message"
)

// JWTAuth returns an Authenticator that verifies the join token as a JWT
// with v (RFC 7519; see package auth). A missing or invalid token is
// refused with "unauthorized"; a valid token whose "rooms" claim does not
// admit the room, with "forbidden". The token's "name" claim, when present,
// is the name the room sees, whatever the client asked for.
func JWTAuth(v *auth.Verifier) Authenticator { return jwtAuth{v} }

type jwtAuth struct{ v *auth.Verifier }

func (a jwtAuth) Authenticate(_ context.Context, req AuthRequest) (Identity, error) {
	c, err := a.v.Verify(req.Token)
	if err != nil {
		return Identity{}, err
	}
	if !message.ValidName(c.Name) {
		return Identity{}, errors.New(`signaling: the token's "name" claim is not a valid name`)
	}
	if !c.CanJoin(req.Room) {
		return Identity{}, fmt.Errorf("%w (sub %q, room %q)", ErrForbidden, c.Subject, req.Room)
	}
	return Identity{Name: c.Name}, nil
}

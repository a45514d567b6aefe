package signaling

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Authenticator decides whether a client may join a room. The token is the
// join frame's "token" member, or else the ?token= query parameter of the
// WebSocket URL. A JWT verifier fits behind this interface as well as the
// built-in [HMACAuth].
type Authenticator interface {
	// Authenticate checks req and returns the identity to join with. An
	// error refuses the join with code "forbidden" if it wraps
	// [ErrForbidden] (a valid token for other rooms), else "unauthorized";
	// its text is not shown to the client. It is called on the
	// connection's event loop and must not block for long.
	Authenticate(ctx context.Context, req AuthRequest) (Identity, error)
}

// AuthRequest is what a client presents when it joins.
type AuthRequest struct {
	Token string
	Room  string
	Name  string // the name the client asked for
}

// Identity is the outcome of a successful authentication.
type Identity struct {
	// Name replaces the client's chosen name when not empty, so that a
	// token can fix the name others see.
	Name string
}

// TokenClaims are the contents of an HMACAuth token.
type TokenClaims struct {
	Room    string `json:"room,omitempty"` // "" admits any room
	Name    string `json:"name,omitempty"` // "" lets the client choose
	Expires int64  `json:"exp"`            // Unix seconds
}

// HMACAuth accepts tokens of the form base64url(claims JSON) "."
// base64url(HMAC-SHA256(Secret, first part)), as made by [HMACAuth.Token].
type HMACAuth struct {
	Secret []byte
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

var errBadToken = errors.New("signaling: invalid token")

// ErrForbidden, wrapped in an Authenticator's error, refuses a join with
// code "forbidden" instead of "unauthorized": the token is good, but not
// for this room.
var ErrForbidden = errors.New("signaling: the token does not admit to this room")

// Token signs c.
func (a *HMACAuth) Token(c TokenClaims) string {
	payload, _ := json.Marshal(c) // TokenClaims always marshals
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(a.sign(p))
}

func (a *HMACAuth) sign(p string) []byte {
	m := hmac.New(sha256.New, a.Secret)
	m.Write([]byte(p))
	return m.Sum(nil)
}

// Authenticate implements Authenticator.
func (a *HMACAuth) Authenticate(_ context.Context, req AuthRequest) (Identity, error) {
	p, s, ok := strings.Cut(req.Token, ".")
	if !ok || len(a.Secret) == 0 {
		return Identity{}, errBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !hmac.Equal(sig, a.sign(p)) {
		return Identity{}, errBadToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Identity{}, errBadToken
	}
	var c TokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Identity{}, errBadToken
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if now().Unix() >= c.Expires {
		return Identity{}, errors.New("signaling: token expired")
	}
	if c.Room != "" && c.Room != req.Room {
		return Identity{}, fmt.Errorf("%w: the token is for room %q", ErrForbidden, c.Room)
	}
	return Identity{Name: c.Name}, nil
}

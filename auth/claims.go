package auth

import (
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a verified token says about its bearer.
type Claims struct {
	// Subject is the "sub" claim (RFC 7519 §4.1.2); may be empty.
	Subject string
	// Name is the optional "name" claim, a display name.
	Name string
	// ExpiresAt is the "exp" claim (RFC 7519 §4.1.4).
	ExpiresAt time.Time
	// Join holds the rooms the token may join ("rooms" claim).
	Join Rooms
	// Publish holds the rooms the token may publish to ("publish" claim,
	// defaulting to "rooms").
	Publish Rooms
}

// CanJoin reports whether the token may join room.
func (c *Claims) CanJoin(room string) bool { return c.Join.Allows(room) }

// CanPublish reports whether the token may publish to room.
func (c *Claims) CanPublish(room string) bool { return c.Publish.Allows(room) }

// Rooms is a set of room names and prefix patterns.
type Rooms struct {
	// Any is set when the claim was absent: every room is allowed.
	Any bool
	// Patterns are the claim's entries: a room name, or a prefix followed
	// by "*", which matches every room that starts with the prefix.
	Patterns []string
}

// Allows reports whether room is in the set.
func (r Rooms) Allows(room string) bool {
	if r.Any {
		return true
	}
	for _, p := range r.Patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(room, prefix) {
				return true
			}
		} else if p == room {
			return true
		}
	}
	return false
}

// wireClaims is the JSON payload of a token (RFC 7519 §4): the registered
// claims plus Switchboard's. Pointers tell an absent claim from an empty one.
type wireClaims struct {
	jwt.RegisteredClaims
	Name    string    `json:"name,omitempty"`
	Rooms   *[]string `json:"rooms,omitempty"`
	Publish *[]string `json:"publish,omitempty"`
}

func (w *wireClaims) claims() *Claims {
	c := &Claims{Subject: w.Subject, Name: w.Name}
	if w.ExpiresAt != nil {
		c.ExpiresAt = w.ExpiresAt.Time
	}
	c.Join = roomsOf(w.Rooms, Rooms{Any: true})
	c.Publish = roomsOf(w.Publish, c.Join)
	return c
}

func roomsOf(claim *[]string, absent Rooms) Rooms {
	if claim == nil {
		return absent
	}
	return Rooms{Patterns: *claim}
}

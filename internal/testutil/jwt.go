package testutil

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/auth"
)

// JWTSecret is the HS256 secret of JWTVerifier and Mint (32 bytes, the
// minimum package auth accepts).
var JWTSecret = []byte("switchboard-test-secret-32-bytes")

// JWTVerifier is an HS256 verifier over JWTSecret with the given clock.
func JWTVerifier(t testing.TB, now func() time.Time) *auth.Verifier {
	t.Helper()
	v, err := auth.New(auth.Config{Secret: JWTSecret, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Mint signs claims with JWTSecret (HS256), adding exp an hour after at
// unless c has one.
func Mint(t testing.TB, at time.Time, c jwt.MapClaims) string {
	t.Helper()
	if _, ok := c["exp"]; !ok {
		c["exp"] = at.Add(time.Hour).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(JWTSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary tokens and room names through Verify and the
// claim checks of a verifier that has a secret and a key set. Invariants:
// no panic; every refusal wraps ErrInvalidToken; an accepted token's room
// answers follow its patterns (an exact entry allows its room, a "p*" entry
// allows p+room, publish defaults to rooms).
func FuzzVerify(f *testing.F) {
	k := keys(f)
	v := newVerifier(f, Config{Secret: secret, JWKSFile: standardJWKS(f)})
	valid := claims(map[string]any{"rooms": []string{"lobby", "team-*"}, "publish": []string{"lobby"}})
	f.Add(sign(f, jwt.SigningMethodHS256, secret, "", valid), "lobby")
	f.Add(sign(f, jwt.SigningMethodHS256, secret, "", claims(nil)), "anything")
	f.Add(sign(f, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"rooms": []string{}})), "lobby")
	f.Add(sign(f, jwt.SigningMethodRS256, k.rsa, "r1", valid), "team-red")
	f.Add(sign(f, jwt.SigningMethodES256, k.ec, "e1", valid), "team-")
	f.Add(sign(f, jwt.SigningMethodRS256, k.rsa2, "r1", valid), "lobby")
	f.Add(unsigned(`{"alg":"none"}`, `{"sub":"a","exp":1700003600}`, nil), "lobby")
	f.Add(unsigned(`{"alg":"HS256","crit":["b64"],"b64":false}`, `{"exp":1700003600}`, []byte("x")), "")
	f.Add(unsigned(`{"alg":"RS256","kid":7}`, `{"exp":1e99}`, nil), "")
	f.Add("..", "")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.", "x")
	f.Fuzz(func(t *testing.T, token, room string) {
		c, err := v.Verify(token)
		if err != nil {
			if c != nil || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("claims %v, err %v", c, err)
			}
			return
		}
		for _, r := range []Rooms{c.Join, c.Publish} {
			if r.Any {
				if !r.Allows(room) {
					t.Fatal("Any refused a room")
				}
				continue
			}
			for _, p := range r.Patterns {
				if prefix, ok := strings.CutSuffix(p, "*"); ok {
					if !r.Allows(prefix + room) {
						t.Fatalf("%q refused %q", p, prefix+room)
					}
				} else if !r.Allows(p) {
					t.Fatalf("%q refused itself", p)
				}
			}
		}
		if c.Publish.Any && !c.Join.Any {
			t.Fatal("publish wider than rooms by default")
		}
		if c.ExpiresAt.IsZero() {
			t.Fatal("accepted without exp")
		}
	})
}

// FuzzParseJWKS: no panic, and a parsed set has keys, each bound to RS256 or
// ES256 with the matching key type.
func FuzzParseJWKS(f *testing.F) {
	k := keys(f)
	f.Add(jwksJSON(f, rsaJWK(k.rsa, "r"), ecJWK(f, k.ec, "e")))
	f.Add(jwksJSON(f, map[string]any{"kty": "oct", "k": "AA"}))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","use":"sig"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseJWKS(data)
		if err != nil {
			if ks != nil {
				t.Fatal("a set and an error")
			}
			return
		}
		if ks.Len() == 0 {
			t.Fatal("empty set accepted")
		}
		for _, key := range ks.keys {
			switch k := key.key.(type) {
			case *rsa.PublicKey:
				if key.alg != "RS256" || k.N.BitLen() < MinRSABits {
					t.Fatalf("RSA key of %d bits for %s", k.N.BitLen(), key.alg)
				}
			case *ecdsa.PublicKey:
				if key.alg != "ES256" || k.Curve != elliptic.P256() {
					t.Fatalf("EC key for %s", key.alg)
				}
			default:
				t.Fatalf("%T for %s", key.key, key.alg)
			}
		}
	})
}

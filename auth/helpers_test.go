package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// now is the tests' fixed clock.
var now = time.Unix(1_700_000_000, 0)

func clock() time.Time { return now }

// secret is the tests' HS256 secret (32 bytes, the minimum).
var secret = []byte("0123456789abcdef0123456789abcdef")

type fixtures struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
}

var loadFixtures = sync.OnceValues(func() (fixtures, error) {
	var f fixtures
	keys := map[string]any{}
	for _, name := range []string{"rsa.pem", "rsa2.pem", "ec.pem"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			return f, err
		}
		blk, _ := pem.Decode(b)
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return f, err
		}
		keys[name] = k
	}
	f.rsa = keys["rsa.pem"].(*rsa.PrivateKey)
	f.rsa2 = keys["rsa2.pem"].(*rsa.PrivateKey)
	f.ec = keys["ec.pem"].(*ecdsa.PrivateKey)
	return f, nil
})

func keys(tb testing.TB) fixtures {
	tb.Helper()
	f, err := loadFixtures()
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rsaJWK and ecJWK are the public JWKs of the fixtures, as maps so that
// tests can edit members.
func rsaJWK(k *rsa.PrivateKey, kid string) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64u(k.N.Bytes()), "e": b64u(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(tb testing.TB, k *ecdsa.PrivateKey, kid string) map[string]any {
	p, err := k.PublicKey.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64u(p[1:33]), "y": b64u(p[33:])}
}

func jwksJSON(tb testing.TB, keys ...map[string]any) []byte {
	tb.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// writeJWKS writes the set to a fresh file and returns its path.
func writeJWKS(tb testing.TB, keys ...map[string]any) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "jwks.json")
	if err := os.WriteFile(p, jwksJSON(tb, keys...), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// standardJWKS is the set most tests verify with: RSA kid "r1", EC kid "e1".
func standardJWKS(tb testing.TB) string {
	f := keys(tb)
	return writeJWKS(tb, rsaJWK(f.rsa, "r1"), ecJWK(tb, f.ec, "e1"))
}

// claims returns valid claims (an hour left) with extra members merged in;
// a nil value deletes the member.
func claims(extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign mints a token; kid "" leaves the header without one.
func sign(tb testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	tb.Helper()
	t := jwt.NewWithClaims(m, c)
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// unsigned builds header.payload.signature from JSON parts and a raw
// signature, for tokens no library would mint.
func unsigned(header, payload string, sig []byte) string {
	return b64u([]byte(header)) + "." + b64u([]byte(payload)) + "." + b64u(sig)
}

func newVerifier(tb testing.TB, cfg Config) *Verifier {
	tb.Helper()
	if cfg.Now == nil {
		cfg.Now = clock
	}
	v, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

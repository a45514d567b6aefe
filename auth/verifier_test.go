package auth

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerify(t *testing.T) {
	f := keys(t)
	jwks := standardJWKS(t)
	hsOnly := newVerifier(t, Config{Secret: secret})
	jwksOnly := newVerifier(t, Config{JWKSFile: jwks})
	both := newVerifier(t, Config{Secret: secret, JWKSFile: jwks})
	withIssAud := newVerifier(t, Config{Secret: secret, Issuer: "https://id.example", Audience: "switchboard"})

	pubDER, err := x509.MarshalPKIXPublicKey(&f.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs := func(c jwt.Claims) string { return sign(t, jwt.SigningMethodHS256, secret, "", c) }
	rs := func(kid string, c jwt.Claims) string { return sign(t, jwt.SigningMethodRS256, f.rsa, kid, c) }
	es := func(kid string, c jwt.Claims) string { return sign(t, jwt.SigningMethodES256, f.ec, kid, c) }
	valid := claims(nil)
	payload := `{"sub":"alice","exp":1700003600}`

	tests := []struct {
		name  string
		v     *Verifier
		token string
		ok    bool
	}{
		{"HS256", hsOnly, hs(valid), true},
		{"HS256 with both configured", both, hs(valid), true},
		{"RS256 by kid", jwksOnly, rs("r1", valid), true},
		{"ES256 by kid", jwksOnly, es("e1", valid), true},
		{"RS256 without kid, one RSA key", jwksOnly, rs("", valid), true},
		{"ES256 without kid, one EC key", both, es("", valid), true},

		{"alg none", both, unsigned(`{"alg":"none","typ":"JWT"}`, payload, nil), false},
		{"alg None", both, unsigned(`{"alg":"None"}`, payload, nil), false},
		{"no alg", both, unsigned(`{"typ":"JWT"}`, payload, nil), false},
		{"HS256 signed with the RSA public key PEM", jwksOnly, sign(t, jwt.SigningMethodHS256, pubPEM, "r1", valid), false},
		{"HS256 signed with the RSA public key DER", jwksOnly, sign(t, jwt.SigningMethodHS256, pubDER, "r1", valid), false},
		{"HS256 signed with the RSA public key, secret also set", both, sign(t, jwt.SigningMethodHS256, pubPEM, "r1", valid), false},
		{"RS256 when only HS256 is configured", hsOnly, rs("r1", valid), false},
		{"ES256 when only HS256 is configured", hsOnly, es("e1", valid), false},
		{"HS384", both, sign(t, jwt.SigningMethodHS384, secret, "", valid), false},
		{"RS512 with a set key", jwksOnly, sign(t, jwt.SigningMethodRS512, f.rsa, "r1", valid), false},
		{"PS256 with a set key", jwksOnly, sign(t, jwt.SigningMethodPS256, f.rsa, "r1", valid), false},

		{"HS256 under another secret", hsOnly, sign(t, jwt.SigningMethodHS256, []byte("another secret, also 32 bytes lo"), "", valid), false},
		{"RS256 by a key not in the set", jwksOnly, sign(t, jwt.SigningMethodRS256, f.rsa2, "r1", valid), false},
		{"unknown kid", jwksOnly, rs("r9", valid), false},
		{"kid of the EC key on an RS256 token", jwksOnly, rs("e1", valid), false},
		{"kid of the RSA key on an ES256 token", jwksOnly, es("r1", valid), false},
		{"kid not a string", jwksOnly, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, valid)
			tok.Header["kid"] = 1
			s, _ := tok.SignedString(f.rsa)
			return s
		}(), false},
		{"crit header", hsOnly, func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid)
			tok.Header["crit"] = []string{"exp"}
			s, _ := tok.SignedString(secret)
			return s
		}(), false},
		{"tampered payload", hsOnly, func() string {
			p := strings.Split(hs(claims(map[string]any{"rooms": []string{"a"}})), ".")
			p[1] = b64u([]byte(`{"sub":"alice","exp":1700003600}`))
			return strings.Join(p, ".")
		}(), false},
		{"tampered signature", jwksOnly, func() string {
			p := strings.Split(rs("r1", valid), ".")
			sig, _ := base64.RawURLEncoding.DecodeString(p[2])
			sig[10] ^= 1
			p[2] = b64u(sig)
			return strings.Join(p, ".")
		}(), false},
		{"signature stripped", hsOnly, strings.TrimRightFunc(hs(valid), func(r rune) bool { return r != '.' }), false},

		{"expired", hsOnly, hs(claims(map[string]any{"exp": now.Add(-DefaultLeeway - time.Second).Unix()})), false},
		{"expired within the leeway", hsOnly, hs(claims(map[string]any{"exp": now.Add(-DefaultLeeway + time.Second).Unix()})), true},
		{"no exp", hsOnly, hs(claims(map[string]any{"exp": nil})), false},
		{"exp not a number", hsOnly, hs(claims(map[string]any{"exp": "tomorrow"})), false},
		{"not yet valid", hsOnly, hs(claims(map[string]any{"nbf": now.Add(DefaultLeeway + time.Second).Unix()})), false},
		{"not yet valid within the leeway", hsOnly, hs(claims(map[string]any{"nbf": now.Add(DefaultLeeway - time.Second).Unix()})), true},

		{"iss and aud", withIssAud, hs(claims(map[string]any{"iss": "https://id.example", "aud": "switchboard"})), true},
		{"aud among several", withIssAud, hs(claims(map[string]any{"iss": "https://id.example", "aud": []string{"x", "switchboard"}})), true},
		{"wrong iss", withIssAud, hs(claims(map[string]any{"iss": "https://evil.example", "aud": "switchboard"})), false},
		{"no iss", withIssAud, hs(claims(map[string]any{"aud": "switchboard"})), false},
		{"wrong aud", withIssAud, hs(claims(map[string]any{"iss": "https://id.example", "aud": "other"})), false},
		{"no aud", withIssAud, hs(claims(map[string]any{"iss": "https://id.example"})), false},
		{"iss and aud unchecked when not configured", hsOnly, hs(claims(map[string]any{"iss": "anyone", "aud": "anything"})), true},

		{"rooms not an array", hsOnly, hs(claims(map[string]any{"rooms": "lobby"})), false},
		{"rooms of numbers", hsOnly, hs(claims(map[string]any{"rooms": []int{1}})), false},
		{"publish not an array", hsOnly, hs(claims(map[string]any{"publish": map[string]any{}})), false},

		{"empty", hsOnly, "", false},
		{"two segments", hsOnly, "a.b", false},
		{"not base64", hsOnly, "!!.!!.!!", false},
		{"too long", hsOnly, hs(claims(map[string]any{"pad": strings.Repeat("x", MaxTokenLen)})), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.v.Verify(tc.token)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Subject != "alice" {
					t.Fatalf("sub %q", c.Subject)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
		})
	}
}

// TestVerifyKidSelection: with two RSA keys, the kid decides, and a token
// without a kid is refused rather than tried against each.
func TestVerifyKidSelection(t *testing.T) {
	f := keys(t)
	v := newVerifier(t, Config{JWKSFile: writeJWKS(t, rsaJWK(f.rsa, "a"), rsaJWK(f.rsa2, "b"))})
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, f.rsa2, "b", claims(nil))); err != nil {
		t.Fatalf("kid b: %v", err)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, f.rsa2, "a", claims(nil))); err == nil {
		t.Fatal("key b accepted under kid a")
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, f.rsa, "", claims(nil))); err == nil {
		t.Fatal("no kid with two candidate keys accepted")
	}
}

func TestVerifyClaims(t *testing.T) {
	v := newVerifier(t, Config{Secret: secret})
	hs := func(extra map[string]any) *Claims {
		t.Helper()
		c, err := v.Verify(sign(t, jwt.SigningMethodHS256, secret, "", claims(extra)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := hs(map[string]any{"name": "Alice"})
	if c.Subject != "alice" || c.Name != "Alice" || !c.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("%+v", c)
	}
	if !c.Join.Any || !c.Publish.Any || !c.CanJoin("anything") || !c.CanPublish("anything") {
		t.Fatalf("no rooms claim must allow every room: %+v", c)
	}
	c = hs(map[string]any{"rooms": []string{"lobby", "team-*"}})
	if !c.CanJoin("lobby") || !c.CanJoin("team-red") || c.CanJoin("other") {
		t.Fatalf("rooms: %+v", c)
	}
	if !c.CanPublish("team-red") || c.CanPublish("other") {
		t.Fatalf("publish must default to rooms: %+v", c)
	}
	c = hs(map[string]any{"rooms": []string{"lobby"}, "publish": []string{}})
	if !c.CanJoin("lobby") || c.CanPublish("lobby") {
		t.Fatalf("empty publish: %+v", c)
	}
	c = hs(map[string]any{"rooms": []string{}})
	if c.CanJoin("lobby") || c.CanPublish("lobby") {
		t.Fatalf("empty rooms: %+v", c)
	}
	c = hs(map[string]any{"publish": []string{"news"}})
	if !c.CanJoin("lobby") || !c.CanPublish("news") || c.CanPublish("lobby") {
		t.Fatalf("publish only: %+v", c)
	}
	c = hs(map[string]any{"rooms": nil, "publish": nil, "sub": nil})
	if c.Subject != "" || !c.CanJoin("x") {
		t.Fatalf("no sub: %+v", c)
	}
}

func TestRoomsAllows(t *testing.T) {
	tests := []struct {
		patterns []string
		room     string
		want     bool
	}{
		{[]string{"lobby"}, "lobby", true},
		{[]string{"lobby"}, "lobby2", false},
		{[]string{"lobby"}, "lobb", false},
		{[]string{"team-*"}, "team-red", true},
		{[]string{"team-*"}, "team-", true},
		{[]string{"team-*"}, "team", false},
		{[]string{"team-*"}, "xteam-red", false},
		{[]string{"*"}, "anything", true},
		{[]string{"*"}, "", true},
		{[]string{""}, "lobby", false},
		{[]string{"a*b"}, "a*b", true}, // only a trailing * is a pattern
		{[]string{"a*b"}, "axb", false},
		{[]string{"a", "b*"}, "bee", true},
		{nil, "lobby", false},
	}
	for _, tc := range tests {
		if got := (Rooms{Patterns: tc.patterns}).Allows(tc.room); got != tc.want {
			t.Errorf("%q allows %q = %v, want %v", tc.patterns, tc.room, got, tc.want)
		}
	}
	if !(Rooms{Any: true}).Allows("x") {
		t.Error("Any must allow every room")
	}
}

func TestNewConfigErrors(t *testing.T) {
	jwks := standardJWKS(t)
	bad := writeJWKS(t) // no keys
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{}, "Secret or a JWKSFile"},
		{"short secret", Config{Secret: []byte("short")}, "at least 32 bytes"},
		{"missing file", Config{JWKSFile: jwks + ".nope"}, "no such file"},
		{"empty set", Config{JWKSFile: bad}, "no RS256 or ES256"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestNegativeLeeway: a negative Leeway means none at all.
func TestNegativeLeeway(t *testing.T) {
	v := newVerifier(t, Config{Secret: secret, Leeway: -1})
	tok := sign(t, jwt.SigningMethodHS256, secret, "", claims(map[string]any{"exp": now.Add(-time.Second).Unix()}))
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("expired token accepted without leeway")
	}
}

// TestSecretCopied: New keeps its own copy of the secret.
func TestSecretCopied(t *testing.T) {
	s := append([]byte(nil), secret...)
	v := newVerifier(t, Config{Secret: s})
	s[0] ^= 1
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, secret, "", claims(nil))); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	f := keys(t)
	path := writeJWKS(t, rsaJWK(f.rsa, "old"))
	v := newVerifier(t, Config{JWKSFile: path})
	oldTok := sign(t, jwt.SigningMethodRS256, f.rsa, "old", claims(nil))
	newTok := sign(t, jwt.SigningMethodRS256, f.rsa2, "new", claims(nil))
	if _, err := v.Verify(newTok); err == nil {
		t.Fatal("new key accepted before reload")
	}
	// Rotation: the new key is added, the old one dropped.
	if err := os.WriteFile(path, jwksJSON(t, rsaJWK(f.rsa2, "new")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(newTok); err != nil {
		t.Fatalf("new key after reload: %v", err)
	}
	if _, err := v.Verify(oldTok); err == nil {
		t.Fatal("old key still accepted after reload")
	}
	// A broken file keeps the keys in use.
	if err := os.WriteFile(path, []byte(`{"keys":[{"kty":"RSA","n":"!"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err == nil {
		t.Fatal("broken file reloaded")
	}
	if _, err := v.Verify(newTok); err != nil {
		t.Fatalf("keys lost after a failed reload: %v", err)
	}
	if v.Keys().Len() != 1 {
		t.Fatalf("%d keys", v.Keys().Len())
	}
	// Without a JWKS file, Reload does nothing.
	if err := newVerifier(t, Config{Secret: secret}).Reload(); err != nil {
		t.Fatal(err)
	}
}

package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseJWKS(t *testing.T) {
	f := keys(t)
	rsaK := func(edit map[string]any) map[string]any {
		k := rsaJWK(f.rsa, "r")
		for n, v := range edit {
			if v == nil {
				delete(k, n)
			} else {
				k[n] = v
			}
		}
		return k
	}
	ecK := func(edit map[string]any) map[string]any {
		k := ecJWK(t, f.ec, "e")
		for n, v := range edit {
			if v == nil {
				delete(k, n)
			} else {
				k[n] = v
			}
		}
		return k
	}
	set := func(keys ...map[string]any) string { return string(jwksJSON(t, keys...)) }
	ecPoint := ecJWK(t, f.ec, "e")
	offCurve := b64u(append(make([]byte, 31), 1)) // (x, 1) is not on P-256 for this x

	tests := []struct {
		name string
		jwks string
		n    int    // usable keys, when valid
		err  string // substring of the error, when not
	}{
		{"RSA and EC", set(rsaK(nil), ecK(nil)), 2, ""},
		{"RSA without use, alg or kid", set(rsaK(map[string]any{"use": nil, "alg": nil, "kid": nil})), 1, ""},
		{"EC with alg ES256", set(ecK(map[string]any{"alg": "ES256"})), 1, ""},
		{"key_ops with verify", set(rsaK(map[string]any{"key_ops": []string{"verify"}})), 1, ""},
		{"same kid in two families", set(rsaK(map[string]any{"kid": "k"}), ecK(map[string]any{"kid": "k"})), 2, ""},
		{"private members ignored", set(rsaK(map[string]any{"d": "AQAB"})), 1, ""},
		{"unknown members ignored", set(rsaK(map[string]any{"x5t": "abc", "ext": true})), 1, ""},

		{"oct skipped", set(rsaK(nil), map[string]any{"kty": "oct", "k": "c2VjcmV0"}), 1, ""},
		{"OKP skipped", set(rsaK(nil), map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "AA"}), 1, ""},
		{"encryption key skipped", set(rsaK(nil), rsaK(map[string]any{"use": "enc", "kid": "x"})), 1, ""},
		{"key_ops without verify skipped", set(rsaK(nil), rsaK(map[string]any{"key_ops": []string{"encrypt"}, "kid": "x"})), 1, ""},
		{"RS512 key skipped", set(ecK(nil), rsaK(map[string]any{"alg": "RS512"})), 1, ""},
		{"P-384 skipped", set(rsaK(nil), ecK(map[string]any{"crv": "P-384"})), 1, ""},
		{"EC with alg ES384 skipped", set(rsaK(nil), ecK(map[string]any{"alg": "ES384"})), 1, ""},

		{"not JSON", `{"keys":[`, 0, "JWK Set"},
		{"not an object", `[]`, 0, "JWK Set"},
		{"no keys member", `{}`, 0, `no "keys"`},
		{"keys null", `{"keys":null}`, 0, `no "keys"`},
		{"keys not an array", `{"keys":{}}`, 0, "JWK Set"},
		{"key not an object", `{"keys":[1]}`, 0, "key 0"},
		{"kty not a string", `{"keys":[{"kty":1}]}`, 0, "key 0"},
		{"no usable key", set(map[string]any{"kty": "oct", "k": "c2VjcmV0"}), 0, "no RS256 or ES256"},
		{"empty", set(), 0, "no RS256 or ES256"},
		{"RSA n padded base64", set(rsaK(map[string]any{"n": rsaJWK(f.rsa, "")["n"].(string) + "="})), 0, "base64url"},
		{"RSA n standard base64", set(rsaK(map[string]any{"n": "ab+/"})), 0, "base64url"},
		{"RSA no n", set(rsaK(map[string]any{"n": nil})), 0, "RSA modulus of 0 bits"},
		{"RSA 1024 bits", set(rsaK(map[string]any{"n": b64u(f.rsa.N.Bytes()[:128])})), 0, "at least 2048"},
		{"RSA e even", set(rsaK(map[string]any{"e": b64u([]byte{1, 0, 0})})), 0, "exponent"},
		{"RSA e one", set(rsaK(map[string]any{"e": "AQ"})), 0, "exponent"},
		{"RSA e huge", set(rsaK(map[string]any{"e": b64u([]byte{1, 0, 0, 0, 1})})), 0, "exponent"},
		{"RSA no e", set(rsaK(map[string]any{"e": nil})), 0, "exponent"},
		{"EC x short", set(ecK(map[string]any{"x": b64u(make([]byte, 31))})), 0, "32 bytes"},
		{"EC y long", set(ecK(map[string]any{"y": b64u(make([]byte, 33))})), 0, "32 bytes"},
		{"EC off the curve", set(ecK(map[string]any{"y": offCurve})), 0, "point"},
		{"EC point at x=0,y=0", set(ecK(map[string]any{"x": b64u(make([]byte, 32)), "y": b64u(make([]byte, 32))})), 0, "point"},
		{"EC x not base64url", set(ecK(map[string]any{"x": ecPoint["x"].(string) + "!"})), 0, "base64url"},
		{"duplicate kid", set(rsaK(nil), rsaK(nil)), 0, `two RS256 keys with kid "r"`},
		{"duplicate empty kid", set(rsaK(map[string]any{"kid": nil}), rsaK(map[string]any{"kid": nil})), 0, "two RS256 keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := ParseJWKS([]byte(tc.jwks))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ks.Len() != tc.n {
				t.Fatalf("%d keys, want %d", ks.Len(), tc.n)
			}
		})
	}
}

// TestParseJWKSKeys: the parsed keys are the fixtures' public keys, bound to
// their algorithm.
func TestParseJWKSKeys(t *testing.T) {
	f := keys(t)
	ks, err := ParseJWKS(jwksJSON(t, rsaJWK(f.rsa, "r"), ecJWK(t, f.ec, "e")))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.lookup("r", true, "RS256")
	if err != nil || !f.rsa.PublicKey.Equal(k.(*rsa.PublicKey)) {
		t.Fatalf("RSA key: %v %v", k, err)
	}
	k, err = ks.lookup("e", true, "ES256")
	if err != nil || !f.ec.PublicKey.Equal(k.(*ecdsa.PublicKey)) {
		t.Fatalf("EC key: %v %v", k, err)
	}
	for _, q := range []struct {
		kid    string
		hasKid bool
		alg    string
	}{{"r", true, "ES256"}, {"e", true, "RS256"}, {"", true, "RS256"}, {"x", true, "RS256"}, {"", false, "HS256"}} {
		if k, err := ks.lookup(q.kid, q.hasKid, q.alg); err == nil {
			t.Errorf("lookup(%q, %v, %s) = %v", q.kid, q.hasKid, q.alg, k)
		}
	}
}

// TestJWKSFixtureRoundTrip guards the helpers: the JWKs they write are
// valid JSON with the members RFC 7518 §6 requires.
func TestJWKSFixtureRoundTrip(t *testing.T) {
	f := keys(t)
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(jwksJSON(t, rsaJWK(f.rsa, "r"), ecJWK(t, f.ec, "e")), &set); err != nil {
		t.Fatal(err)
	}
	if set.Keys[0]["e"] != "AQAB" || len(set.Keys[1]["x"]) != 43 {
		t.Fatalf("%v", set.Keys)
	}
}

package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// MinRSABits is the smallest RSA modulus a key set may hold (RFC 7518 §3.3:
// "A key of size 2048 bits or larger MUST be used").
const MinRSABits = 2048

// KeySet is the public keys of a JWK Set (RFC 7517 §5) that can verify RS256
// or ES256 signatures. It is immutable.
type KeySet struct {
	keys []jwk
}

// jwk is one usable key: its "kid", the one algorithm it verifies, and the
// key itself (*rsa.PublicKey or *ecdsa.PublicKey on P-256).
type jwk struct {
	kid string
	alg string
	key any
}

// Len returns the number of usable keys.
func (ks *KeySet) Len() int { return len(ks.keys) }

// wireJWK holds the members of a JWK (RFC 7517 §4, RFC 7518 §6) that matter
// for verification.
type wireJWK struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Kid    string   `json:"kid"`
	// RSA (RFC 7518 §6.3.1)
	N string `json:"n"`
	E string `json:"e"`
	// EC (RFC 7518 §6.2.1)
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// ParseJWKS reads a JWK Set. Keys this package cannot use are skipped, as
// RFC 7517 §5 asks for key types that are not understood: other "kty" values
// ("oct", "OKP"), curves other than P-256, keys whose "use" is not "sig" or
// whose "key_ops" lack "verify", and keys whose "alg" is neither RS256 nor
// ES256. A usable key that is malformed (bad base64url, a point not on the
// curve, an RSA modulus under MinRSABits), or two keys of one family with the
// same "kid", is an error, and so is a set with no usable key.
func ParseJWKS(data []byte) (*KeySet, error) {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("auth: JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`auth: JWK Set has no "keys" array (RFC 7517 §5.1)`)
	}
	ks := &KeySet{}
	for i, raw := range *set.Keys {
		var w wireJWK
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("auth: JWK Set key %d: %w", i, err)
		}
		k, ok, err := w.parse()
		if err != nil {
			return nil, fmt.Errorf("auth: JWK Set key %d (kid %q): %w", i, w.Kid, err)
		}
		if !ok {
			continue
		}
		for _, o := range ks.keys {
			if o.kid == k.kid && o.alg == k.alg {
				return nil, fmt.Errorf("auth: JWK Set key %d: two %s keys with kid %q", i, k.alg, k.kid)
			}
		}
		ks.keys = append(ks.keys, k)
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("auth: JWK Set has no RS256 or ES256 signature key")
	}
	return ks, nil
}

// parse turns w into a key; ok is false for a key to skip.
func (w *wireJWK) parse() (k jwk, ok bool, err error) {
	if w.Use != "" && w.Use != "sig" { // RFC 7517 §4.2
		return k, false, nil
	}
	if w.KeyOps != nil && !slices.Contains(w.KeyOps, "verify") { // RFC 7517 §4.3
		return k, false, nil
	}
	k.kid = w.Kid
	switch w.Kty { // RFC 7518 §6.1
	case "RSA":
		if w.Alg != "" && w.Alg != "RS256" {
			return k, false, nil
		}
		k.alg = "RS256"
		k.key, err = rsaKey(w.N, w.E)
	case "EC":
		if w.Crv != "P-256" || (w.Alg != "" && w.Alg != "ES256") {
			return k, false, nil
		}
		k.alg = "ES256"
		k.key, err = p256Key(w.X, w.Y)
	default:
		return k, false, nil
	}
	return k, err == nil, err
}

// b64 decodes a base64url member without padding (RFC 7515 §2).
func b64(name, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not base64url: %w", name, err)
	}
	return b, nil
}

// rsaKey builds an RSA public key from the Base64urlUInt members "n" and "e"
// (RFC 7518 §6.3.1.1, §6.3.1.2).
func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err := b64("n", n64)
	if err != nil {
		return nil, err
	}
	eb, err := b64("e", e64)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < MinRSABits {
		return nil, fmt.Errorf("RSA modulus of %d bits; at least %d required (RFC 7518 §3.3)", n.BitLen(), MinRSABits)
	}
	e := new(big.Int).SetBytes(eb)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New(`RSA exponent "e" must be odd, at least 3 and below 2^31`)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// p256Key builds a P-256 public key from "x" and "y", each the full 32
// bytes of a coordinate (RFC 7518 §6.2.1.2, §6.2.1.3), checking that the
// point is on the curve.
func p256Key(x64, y64 string) (*ecdsa.PublicKey, error) {
	x, err := b64("x", x64)
	if err != nil {
		return nil, err
	}
	y, err := b64("y", y64)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New(`P-256 "x" and "y" must be 32 bytes each (RFC 7518 §6.2.1.2)`)
	}
	point := append(append([]byte{4}, x...), y...) // SEC 1 §2.3.3 uncompressed
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("P-256 point: %w", err)
	}
	return k, nil
}

// lookup returns the key that verifies alg for a token whose header has kid
// (hasKid false: no "kid" member). A token without a kid is verified by the
// set's only key for alg, if it has exactly one.
func (ks *KeySet) lookup(kid string, hasKid bool, alg string) (any, error) {
	var found any
	n := 0
	for _, k := range ks.keys {
		if k.alg != alg || (hasKid && k.kid != kid) {
			continue
		}
		found = k.key
		n++
	}
	switch {
	case n == 1:
		return found, nil
	case hasKid:
		return nil, fmt.Errorf("no %s key with kid %q", alg, kid)
	case n == 0:
		return nil, fmt.Errorf("no %s key", alg)
	default:
		return nil, fmt.Errorf(`the token has no "kid" and %d %s keys could verify it`, n, alg)
	}
}

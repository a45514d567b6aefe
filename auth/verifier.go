package auth

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLen is the shortest HS256 secret, in bytes (RFC 7518 §3.2: a key
// at least as long as the hash output MUST be used).
const MinSecretLen = 32

// MaxTokenLen bounds the tokens Verify parses, in bytes.
const MaxTokenLen = 8 << 10

// DefaultLeeway is the clock skew allowed on "exp" and "nbf" by default.
const DefaultLeeway = 30 * time.Second

// ErrInvalidToken is wrapped by every error Verify returns.
var ErrInvalidToken = errors.New("auth: invalid token")

// Config configures a Verifier. At least one of Secret and JWKSFile is
// required.
type Config struct {
	// Secret, when set, verifies HS256 tokens (RFC 7518 §3.2). At least
	// MinSecretLen bytes.
	Secret []byte
	// JWKSFile, when set, is a JWK Set file (RFC 7517 §5) whose RSA and
	// P-256 keys verify RS256 and ES256 tokens (RFC 7518 §3.3, §3.4).
	JWKSFile string
	// Issuer, when set, must equal the token's "iss" (RFC 7519 §4.1.1).
	Issuer string
	// Audience, when set, must be among the token's "aud" (RFC 7519 §4.1.3).
	Audience string
	// Leeway is the clock skew allowed on "exp" and "nbf". Default
	// DefaultLeeway; negative means none.
	Leeway time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Verifier checks tokens. It is safe for concurrent use; Reload may run
// while tokens are being verified.
type Verifier struct {
	cfg    Config
	keys   atomic.Pointer[KeySet] // nil without JWKSFile
	parser *jwt.Parser
}

// New validates cfg and, with JWKSFile, reads the key set.
func New(cfg Config) (*Verifier, error) {
	if len(cfg.Secret) == 0 && cfg.JWKSFile == "" {
		return nil, errors.New("auth: Config needs a Secret or a JWKSFile")
	}
	if len(cfg.Secret) > 0 && len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: the HS256 secret must be at least %d bytes (RFC 7518 §3.2)", MinSecretLen)
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...) // the caller may reuse its slice

	// Only the algorithms a key source exists for: this refuses "none" and
	// alg confusion before any key is looked up.
	var methods []string
	if len(cfg.Secret) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.JWKSFile != "" {
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &Verifier{cfg: cfg, parser: jwt.NewParser(opts...)}
	if cfg.JWKSFile != "" {
		if err := v.Reload(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Reload re-reads Config.JWKSFile and, if it parses, verifies with its keys
// from then on; on an error the keys in use stay. Without a JWKSFile it does
// nothing.
func (v *Verifier) Reload() error {
	if v.cfg.JWKSFile == "" {
		return nil
	}
	data, err := os.ReadFile(v.cfg.JWKSFile)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return fmt.Errorf("%w (in %s)", err, v.cfg.JWKSFile)
	}
	v.keys.Store(ks)
	return nil
}

// Keys returns the key set in use, nil without a JWKSFile.
func (v *Verifier) Keys() *KeySet { return v.keys.Load() }

// Verify checks token — a JWS compact serialization (RFC 7515 §7.1) — and
// returns its claims. Every error wraps ErrInvalidToken; its text says why,
// for logs, and is not meant for the client.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if len(token) > MaxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLen)
	}
	var w wireClaims
	if _, err := v.parser.ParseWithClaims(token, &w, v.key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return w.claims(), nil
}

// key is the jwt.Keyfunc: it picks the key for the token's algorithm, which
// the parser has already checked against the configured ones.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	// RFC 7515 §4.1.11: extensions listed in "crit" must be understood;
	// this verifier understands none.
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New(`the token has a "crit" header`)
	}
	switch alg := t.Method.Alg(); alg {
	case jwt.SigningMethodHS256.Alg():
		return v.cfg.Secret, nil
	case jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg():
		ks := v.keys.Load()
		if ks == nil {
			return nil, fmt.Errorf("no key set for %s", alg)
		}
		raw, hasKid := t.Header["kid"]
		kid, ok := raw.(string)
		if hasKid && !ok {
			return nil, errors.New(`"kid" is not a string`)
		}
		return ks.lookup(kid, hasKid, alg)
	default:
		return nil, fmt.Errorf("unexpected algorithm %q", alg)
	}
}

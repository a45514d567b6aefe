package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// RESTCredentials mints time-limited TURN credentials for name, valid for
// ttl from now, in the TURN REST form that coturn's use-auth-secret also
// accepts (draft-uberti-behave-turn-rest-00 §2.2): the username is
// "expiry:name" with expiry in Unix seconds, the password is
// base64(HMAC-SHA1(secret, username)).
func RESTCredentials(secret, name string, ttl time.Duration, now time.Time) (username, password string) {
	username = strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + name
	return username, restPassword(secret, username)
}

func restPassword(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// credentials resolves usernames to long-term keys.
type credentials struct {
	realm  string
	secret string
	static map[string][16]byte // username → MD5 key
}

func newCredentials(realm, secret string, users map[string]string) *credentials {
	c := &credentials{realm: realm, secret: secret, static: make(map[string][16]byte, len(users))}
	for name, pass := range users {
		c.static[name] = stun.LongTermKey(name, realm, pass)
	}
	return c
}

// key returns the long-term key of username (RFC 8489 §9.2.2), or false
// when the user is unknown or its REST credentials have expired.
func (c *credentials) key(username string, now time.Time) ([16]byte, bool) {
	if k, ok := c.static[username]; ok {
		return k, true
	}
	if c.secret == "" {
		return [16]byte{}, false
	}
	exp, _, ok := strings.Cut(username, ":")
	if !ok {
		return [16]byte{}, false
	}
	ts, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > ts {
		return [16]byte{}, false
	}
	return stun.LongTermKey(username, c.realm, restPassword(c.secret, username)), true
}

// nonces issues and checks stateless nonces: 16 hex digits of expiry (Unix
// nanoseconds) and 16 of a MAC binding it to the client's IP address, so
// that a nonce cannot be replayed from elsewhere and expires without any
// per-client state (RFC 8489 §9.2, 438 Stale Nonce).
type nonces struct {
	key      [32]byte
	lifetime time.Duration
}

func newNonces(lifetime time.Duration) *nonces {
	n := &nonces{lifetime: lifetime}
	rand.Read(n.key[:])
	return n
}

func (n *nonces) mac(exp uint64, ip netip.Addr) []byte {
	h := hmac.New(sha256.New, n.key[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], exp)
	h.Write(b[:])
	a := ip.Unmap().As16()
	h.Write(a[:])
	return h.Sum(nil)[:8]
}

func (n *nonces) issue(ip netip.Addr, now time.Time) string {
	exp := uint64(now.Add(n.lifetime).UnixNano())
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], exp)
	copy(b[8:], n.mac(exp, ip))
	return hex.EncodeToString(b[:])
}

func (n *nonces) valid(nonce []byte, ip netip.Addr, now time.Time) bool {
	var b [16]byte
	if len(nonce) != 32 {
		return false
	}
	if _, err := hex.Decode(b[:], nonce); err != nil {
		return false
	}
	exp := binary.BigEndian.Uint64(b[:8])
	if !hmac.Equal(b[8:], n.mac(exp, ip)) {
		return false
	}
	return uint64(now.UnixNano()) < exp
}

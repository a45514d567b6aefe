package peerjs

import (
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/internal/testutil"
)

var (
	jwtVerifier = testutil.JWTVerifier
	mint        = testutil.Mint
)

const invalidToken = `{"type":"ERROR","payload":{"msg":"Invalid token provided"}}`

func TestOpenJWT(t *testing.T) {
	rt := newRealmTest(t, Config{})
	rt.r.cfg.Auth = JWTAuth(jwtVerifier(t, func() time.Time { return rt.now }))
	now := rt.now
	for _, tt := range []struct {
		name, id, token, want string
	}{
		{"not a JWT", "alice", "random36token", invalidToken},
		{"expired", "alice", mint(t, now, jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix()}), invalidToken},
		{"sub of another peer", "alice", mint(t, now, jwt.MapClaims{"sub": "bob"}), invalidToken},
		{"no token", "alice", "", `{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}`},
		{"bad id before token", "a b!", mint(t, now, jwt.MapClaims{}), `{"type":"ERROR","payload":{"msg":"Invalid id provided"}}`},
	} {
		c := &fakeConn{}
		if cl := rt.r.open(c, "peerjs", tt.id, tt.token, rt.now); cl != nil {
			t.Fatalf("%s: accepted", tt.name)
		}
		expectFrames(t, c, tt.want)
		if !c.closed {
			t.Fatalf("%s: refused socket not closed", tt.name)
		}
	}

	// A JWT is longer than the 64 bytes allowed to random tokens.
	aliceTok := mint(t, now, jwt.MapClaims{"sub": "alice", "rooms": []string{"ignored"}})
	a := rt.open("alice", aliceTok)
	expectFrames(t, a.c, open)
	// A valid token for the same sub, but a different token string, does
	// not take the id over: the token is the id's credential.
	other := rt.open("alice", mint(t, now, jwt.MapClaims{"sub": "alice", "name": "x"}))
	expectFrames(t, other.c, `{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}`)
	// A token without sub admits any id.
	anyone := rt.open("guest-1", mint(t, now, jwt.MapClaims{}))
	expectFrames(t, anyone.c, open)
	// Every open verifies the token again: once it has expired, it no
	// longer reclaims the id.
	a.close()
	rt.now = now.Add(2 * time.Hour)
	late := rt.open("alice", aliceTok)
	if late.cl != nil {
		t.Fatal("expired token reconnected")
	}
	expectFrames(t, late.c, invalidToken)
}

// TestWebSocketJWT: the token query parameter of /peerjs/peerjs is verified
// over a real socket; a refusal is ERROR then close.
func TestWebSocketJWT(t *testing.T) {
	_, hs := startServer(t, Config{Auth: JWTAuth(jwtVerifier(t, nil))})
	now := time.Now()
	bad := dialPeer(t, hs, "key=peerjs&id=alice&token="+url.QueryEscape(mint(t, now, jwt.MapClaims{"sub": "mallory"})))
	bad.expect(invalidToken)
	bad.expectClose()

	good := dialPeer(t, hs, "key=peerjs&id=alice&token="+url.QueryEscape(mint(t, now, jwt.MapClaims{"sub": "alice"})))
	good.expect(`{"type":"OPEN"}`)
	bob := dialPeer(t, hs, "key=peerjs&id=bob&token="+url.QueryEscape(mint(t, now, jwt.MapClaims{"sub": "bob"})))
	bob.expect(`{"type":"OPEN"}`)
	good.send(`{"type":"OFFER","dst":"bob","payload":{"sdp":"x"}}`)
	bob.expect(`{"type":"OFFER","src":"alice","dst":"bob","payload":{"sdp":"x"}}`)
}

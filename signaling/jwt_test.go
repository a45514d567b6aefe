package signaling

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/signaling/message"
)

var (
	jwtVerifier = testutil.JWTVerifier
	mint        = testutil.Mint
)

func TestJWTAuth(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	h, _ := newHub(t, Config{Auth: JWTAuth(jwtVerifier(t, clk.now)), Now: clk.now})
	now := clk.t

	a := connect(t, h)
	for _, tc := range []struct {
		name, frame string
		code        message.Code
	}{
		{"no token", `{"type":"join","room":"lobby"}`, message.CodeUnauthorized},
		{"garbage", `{"type":"join","room":"lobby","token":"x.y.z"}`, message.CodeUnauthorized},
		{"expired", fmt.Sprintf(`{"type":"join","room":"lobby","token":%q}`, mint(t, now, jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), message.CodeUnauthorized},
		{"wrong secret", fmt.Sprintf(`{"type":"join","room":"lobby","token":%q}`, func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": now.Add(time.Hour).Unix()}).SignedString([]byte("another-secret-another-secret-xx"))
			return s
		}()), message.CodeUnauthorized},
		{"bad name claim", fmt.Sprintf(`{"type":"join","room":"lobby","token":%q}`, mint(t, now, jwt.MapClaims{"name": strings.Repeat("n", message.MaxNameLen+1)})), message.CodeUnauthorized},
		{"room not in claim", fmt.Sprintf(`{"type":"join","room":"lobby","token":%q}`, mint(t, now, jwt.MapClaims{"rooms": []string{"team-*"}})), message.CodeForbidden},
		{"no rooms at all", fmt.Sprintf(`{"type":"join","room":"lobby","token":%q}`, mint(t, now, jwt.MapClaims{"rooms": []string{}})), message.CodeForbidden},
	} {
		a.send("%s", tc.frame)
		f := a.next(t)
		if f.str("type") != "error" || f.str("code") != string(tc.code) {
			t.Errorf("%s: got %s, want error %s", tc.name, f["_raw"], tc.code)
		}
		clk.add(2 * time.Second) // keep the error budget from running out
	}

	// Admitted by a pattern; the token's name wins over the chosen one.
	a.send(`{"type":"join","room":"team-red","name":"chosen","token":%q}`, mint(t, now, jwt.MapClaims{"sub": "u1", "name": "Alice", "rooms": []string{"team-*"}}))
	if f := a.next(t); f.str("type") != "joined" {
		t.Fatalf("pattern join: %s", f["_raw"])
	}
	// A token from the URL serves when the frame has none; without a name
	// claim the client's name stands.
	b := client{&fakePeer{}, nil}
	b.s, _ = h.Connect(b.fakePeer, ConnInfo{Token: mint(t, now, jwt.MapClaims{"sub": "u2"})})
	b.join(t, "team-red", "Bob")
	if f := a.next(t); f.str("type") != "peer-joined" || f.str("name") != "Bob" {
		t.Fatalf("peer-joined: %s", f["_raw"])
	}
	// The frame's token takes precedence over the URL's.
	c := client{&fakePeer{}, nil}
	c.s, _ = h.Connect(c.fakePeer, ConnInfo{Token: mint(t, now, jwt.MapClaims{})})
	c.send(`{"type":"join","room":"team-red","token":%q}`, mint(t, now, jwt.MapClaims{"rooms": []string{"lobby"}}))
	c.expectError(t, message.CodeForbidden)
}

// TestServerJWTQueryToken: over a real WebSocket, ?token= on the /signal URL
// admits, and a refusal is an error frame on a socket that stays open.
func TestServerJWTQueryToken(t *testing.T) {
	_, u := startServer(t, Config{Auth: JWTAuth(jwtVerifier(t, nil))})
	now := time.Now()
	bad := dial(t, u+"?token=nope")
	bad.send(`{"type":"join","room":"lobby"}`)
	if f := bad.expect("error"); f.str("code") != string(message.CodeUnauthorized) {
		t.Fatalf("bad token: %s", f["_raw"])
	}
	bad.send(`{"type":"join","room":"lobby","token":%q}`, mint(t, now, jwt.MapClaims{"rooms": []string{"other"}}))
	if f := bad.expect("error"); f.str("code") != string(message.CodeForbidden) {
		t.Fatalf("forbidden room: %s", f["_raw"])
	}
	good := dial(t, u+"?token="+url.QueryEscape(mint(t, now, jwt.MapClaims{"rooms": []string{"lobby"}})))
	good.send(`{"type":"join","room":"lobby","name":"g"}`)
	good.expect("joined")
	// The refused socket is still usable.
	bad.send(`{"type":"join","room":"lobby","name":"b","token":%q}`, mint(t, now, jwt.MapClaims{}))
	bad.expect("joined")
}

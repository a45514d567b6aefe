package sioservice

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/socketio"
)

var jwtSecret = []byte("sioservice-test-secret-32-bytes!")

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// mint signs HS256 claims with exp an hour from now unless given.
func mint(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	if _, ok := c["exp"]; !ok {
		c["exp"] = time.Now().Add(time.Hour).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(jwtSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newAuthService(t *testing.T) *socketio.Server {
	t.Helper()
	v, err := auth.New(auth.Config{Secret: jwtSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := socketio.New(socketio.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	InstallWithAuth(srv.Of("/"), v, quiet)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// open starts a session and sends connect, the CONNECT packet.
func open(t *testing.T, srv *socketio.Server, id, connect string) *client {
	t.Helper()
	fc := &fakeConn{id: id, out: make(chan msg, 256)}
	c, err := srv.Open(fc, httptest.NewRequest("GET", "/socket.io/", nil))
	if err != nil {
		t.Fatal(err)
	}
	fc.conn = c
	cl := &client{t, fc}
	cl.send(connect)
	return cl
}

func TestConnectNeedsToken(t *testing.T) {
	srv := newAuthService(t)
	for _, tc := range []struct{ name, connect string }{
		{"no auth payload", `0`},
		{"no token", `0{}`},
		{"empty token", `0{"token":""}`},
		{"token not a string", `0{"token":5}`},
		{"garbage", `0{"token":"a.b.c"}`},
		{"expired", fmt.Sprintf(`0{"token":%q}`, mint(t, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}))},
		{"wrong secret", fmt.Sprintf(`0{"token":%q}`, func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("a-different-secret-of-32-bytes!!"))
			return s
		}())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := open(t, srv, "x", tc.connect)
			c.expect(`4{"message":"unauthorized"}`)
		})
	}
	c := open(t, srv, "ok", fmt.Sprintf(`0{"token":%q}`, mint(t, jwt.MapClaims{"sub": "alice"})))
	c.expectPrefix(`0{"sid":`)
	// Without a rooms claim every room is open.
	c.send(`21["join","anything"]`)
	c.expect(`31[{"ok":true,"room":"anything","members":1}]`)
	c.send(`22["publish",{"room":"anything","event":"e","data":1}]`)
	c.expect(`32[{"ok":true}]`)
}

func TestRoomClaims(t *testing.T) {
	srv := newAuthService(t)
	tok := mint(t, jwt.MapClaims{"sub": "alice", "rooms": []string{"lobby", "team-*"}, "publish": []string{"lobby"}})
	a := open(t, srv, "a", fmt.Sprintf(`0{"token":%q}`, tok))
	a.expectPrefix(`0{"sid":`)
	b := open(t, srv, "b", fmt.Sprintf(`0{"token":%q}`, mint(t, jwt.MapClaims{"sub": "bob"})))
	b.expectPrefix(`0{"sid":`)

	steps := []struct{ send, want string }{
		{`21["join","lobby"]`, `31[{"ok":true,"room":"lobby","members":1}]`},
		{`22["join","team-red"]`, `32[{"ok":true,"room":"team-red","members":1}]`},
		{`23["join","other"]`, `33[{"ok":false,"error":"forbidden"}]`},
		{`24["join","team"]`, `34[{"ok":false,"error":"forbidden"}]`},
		{`25["publish",{"room":"team-red","event":"e","data":1}]`, `35[{"ok":false,"error":"forbidden"}]`},
		{`26["publish",{"room":"other","event":"e","data":1}]`, `36[{"ok":false,"error":"forbidden"}]`},
		// A malformed request is still answered as such, not as forbidden.
		{`27["join",""]`, `37[{"ok":false,"error":"room must be a non-empty string"}]`},
		{`28["leave","other"]`, `38[{"ok":true,"room":"other"}]`},
	}
	for _, s := range steps {
		a.send(s.send)
		a.expect(s.want)
	}
	// Publishing where allowed reaches the room.
	b.send(`21["join","lobby"]`)
	b.expect(`31[{"ok":true,"room":"lobby","members":2}]`)
	a.send(`29["publish",{"room":"lobby","event":"chat","data":"hi"}]`)
	b.expect(`2["chat","hi"]`)
	a.expect(`39[{"ok":true}]`)
}

// TestClaimsFailClosed: a socket of an authenticated namespace whose Data no
// longer holds its claims is refused every room.
func TestClaimsFailClosed(t *testing.T) {
	srv := newAuthService(t)
	srv.Of("/").OnConnection(func(ctx context.Context, s *socketio.Socket) { s.SetData("something else") })
	a := open(t, srv, "a", fmt.Sprintf(`0{"token":%q}`, mint(t, jwt.MapClaims{})))
	a.expectPrefix(`0{"sid":`)
	a.send(`21["join","lobby"]`)
	a.expect(`31[{"ok":false,"error":"forbidden"}]`)
}

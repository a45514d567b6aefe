package signaling

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/signaling/message"
)

func TestAuth(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	auth := &HMACAuth{Secret: []byte("k"), Now: clk.now}
	h, _ := newHub(t, Config{Auth: auth, Now: clk.now})
	exp := clk.t.Add(time.Minute).Unix()

	a := connect(t, h)
	a.send(`{"type":"join","room":"r","name":"a"}`)
	a.expectError(t, message.CodeUnauthorized)
	a.send(`{"type":"join","room":"r","token":"garbage"}`)
	a.expectError(t, message.CodeUnauthorized)
	forged := (&HMACAuth{Secret: []byte("other")}).Token(TokenClaims{Expires: exp})
	a.send(`{"type":"join","room":"r","token":%q}`, forged)
	a.expectError(t, message.CodeUnauthorized)
	a.send(`{"type":"join","room":"r","token":%q}`, auth.Token(TokenClaims{Room: "s", Expires: exp}))
	a.expectError(t, message.CodeForbidden)
	a.send(`{"type":"join","room":"r","token":%q}`, auth.Token(TokenClaims{Expires: clk.t.Unix()}))
	a.expectError(t, message.CodeUnauthorized)

	a.send(`{"type":"join","room":"r","name":"chosen","token":%q}`, auth.Token(TokenClaims{Room: "r", Name: "Alice", Expires: exp}))
	if f := a.next(t); f.str("type") != "joined" {
		t.Fatal(f["_raw"])
	}
	// A token from the URL serves when the frame has none.
	b := client{&fakePeer{}, nil}
	b.s, _ = h.Connect(b.fakePeer, ConnInfo{Token: auth.Token(TokenClaims{Expires: exp})})
	b.join(t, "r", "Bob")
	if f := a.next(t); f["_raw"] != fmt.Sprintf(`{"type":"peer-joined","id":%q,"name":"Bob"}`, b.s.ID()) {
		t.Fatal(f["_raw"])
	}
	// The token's name wins over the chosen one.
	c := connect(t, h)
	c.send(`{"type":"join","room":"r","name":"Mallory","token":%q}`, auth.Token(TokenClaims{Name: "Carol", Expires: exp}))
	if j := c.next(t); !strings.Contains(j["_raw"].(string), `"name":"Alice"`) {
		t.Fatal(j["_raw"])
	}
	if f := a.next(t); f.str("name") != "Carol" {
		t.Fatal(f["_raw"])
	}
}

// TestHMACAuthTampering: a token whose claims were edited is refused.
func TestHMACAuthTampering(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	auth := &HMACAuth{Secret: []byte("k"), Now: func() time.Time { return now }}
	tok := auth.Token(TokenClaims{Room: "r", Name: "Ann", Expires: now.Add(time.Minute).Unix()})
	if id, err := auth.Authenticate(context.Background(), AuthRequest{Token: tok, Room: "r"}); err != nil || id.Name != "Ann" {
		t.Fatalf("valid token: %v %v", id, err)
	}
	p, sig, _ := strings.Cut(tok, ".")
	forged := (&HMACAuth{Secret: []byte("k")}).Token(TokenClaims{Room: "r", Name: "Root", Expires: now.Add(time.Minute).Unix()})
	fp, _, _ := strings.Cut(forged, ".")
	for _, bad := range []string{"", ".", p, p + ".", "." + sig, fp + "." + sig, p + "." + sig + "x", p + "x." + sig} {
		if _, err := auth.Authenticate(context.Background(), AuthRequest{Token: bad, Room: "r"}); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
	if _, err := (&HMACAuth{}).Authenticate(context.Background(), AuthRequest{Token: tok, Room: "r"}); err == nil {
		t.Error("empty secret accepted a token")
	}
}

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

const testSecret = "cmd-test-secret-cmd-test-secret!"

// ecKey is a fresh P-256 key with its JWK (RFC 7518 §6.2).
type ecKey struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newECKey(t *testing.T, kid string) ecKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ecKey{k, kid}
}

func (k ecKey) jwk(t *testing.T) map[string]string {
	t.Helper()
	p, err := k.priv.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b := base64.RawURLEncoding.EncodeToString
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": k.kid, "x": b(p[1:33]), "y": b(p[33:])}
}

// writeJWKS (re)writes path with the public keys of keys.
func writeJWKS(t *testing.T, path string, keys ...ecKey) {
	t.Helper()
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk(t))
	}
	data, _ := json.Marshal(set)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomic, as an operator would
		t.Fatal(err)
	}
}

// token signs claims with k (ES256), exp an hour from now unless given.
func (k ecKey) token(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	if _, ok := c["exp"]; !ok {
		c["exp"] = time.Now().Add(time.Hour).Unix()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigJWT(t *testing.T) {
	c, err := parseConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.verifier(); v != nil || err != nil {
		t.Fatalf("no JWT flags must mean no verifier: %v %v", v, err)
	}

	jwks := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, jwks, newECKey(t, "k1"))
	c, err = parseConfig([]string{"--jwt-jwks", jwks, "--jwt-issuer", "iss", "--jwt-audience", "aud"},
		env(map[string]string{"SWITCHBOARD_JWT_SECRET": testSecret}))
	if err != nil {
		t.Fatal(err)
	}
	if c.jwtSecret != testSecret || c.jwtJWKS != jwks || c.jwtIssuer != "iss" || c.jwtAudience != "aud" {
		t.Fatalf("%+v", c)
	}
	v, err := c.verifier()
	if err != nil || v == nil || v.Keys().Len() != 1 {
		t.Fatalf("verifier: %v %v", v, err)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jwt-secret", "short"}, "--jwt-secret"},
		{[]string{"--jwt-issuer", "iss"}, "--jwt-issuer"},
		{[]string{"--jwt-audience", "aud"}, "--jwt-audience"},
		{[]string{"--jwt-jwks", jwks + ".missing"}, "--jwt-jwks"},
		{[]string{"--jwt-jwks", bad}, "--jwt-jwks"},
	} {
		_, err := parseConfig(tc.args, env(nil))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line starting %q", tc.args, err, tc.want)
		}
	}
}

// TestBinaryJWT runs switchboard with --jwt-jwks: Socket.IO connect,
// /signal join and the PeerJS token need a JWT from the key set, and SIGHUP
// reloads the file (a rotation) or, if it is broken, keeps the keys in use.
func TestBinaryJWT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	k1, k2 := newECKey(t, "k1"), newECKey(t, "k2")
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, jwks, k1)
	addr := freeAddr(t)
	p := testutil.StartProcess(t, bin, []string{"--listen", addr, "--turn-listen", "off", "--log-format", "json",
		"--jwt-jwks", jwks, "--jwt-issuer", "https://id.test"})
	p.WaitOutput(t, `"msg":"http listening"`, 15*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://id.test", "sub": "alice"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}

	// /signal: each join answered with one frame.
	join := func(frame string) string {
		t.Helper()
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/signal", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		_, reply, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(reply)
	}
	joinWith := func(room, token string) string {
		return join(fmt.Sprintf(`{"type":"join","room":%q,"token":%q}`, room, token))
	}
	if r := join(`{"type":"join","room":"r"}`); !strings.Contains(r, `"code":"unauthorized"`) {
		t.Errorf("join without a token: %s", r)
	}
	if r := joinWith("x", k1.token(t, claims(jwt.MapClaims{"rooms": []string{"r"}}))); !strings.Contains(r, `"code":"forbidden"`) {
		t.Errorf("join outside the rooms claim: %s", r)
	}
	if r := joinWith("r", k1.token(t, claims(jwt.MapClaims{"rooms": []string{"r"}}))); !strings.Contains(r, `"type":"joined"`) {
		t.Errorf("join: %s", r)
	}
	if r := joinWith("r", k1.token(t, claims(jwt.MapClaims{"iss": "https://other.test"}))); !strings.Contains(r, `"code":"unauthorized"`) {
		t.Errorf("join with another issuer: %s", r)
	}
	k2Token := k2.token(t, claims(nil))
	if r := joinWith("r", k2Token); !strings.Contains(r, `"code":"unauthorized"`) {
		t.Errorf("join with a key not yet in the set: %s", r)
	}

	// Socket.IO over a raw WebSocket: CONNECT without and with a token.
	sioConnect := func(packet string) string {
		t.Helper()
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if _, open, err := c.Read(ctx); err != nil || !strings.HasPrefix(string(open), "0{") {
			t.Fatalf("engine.io open: %s %v", open, err)
		}
		if err := c.Write(ctx, websocket.TextMessage, []byte(packet)); err != nil {
			t.Fatal(err)
		}
		_, reply, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(reply)
	}
	if r := sioConnect("40"); r != `44{"message":"unauthorized"}` {
		t.Errorf("socket.io connect without a token: %s", r)
	}
	if r := sioConnect(fmt.Sprintf(`40{"token":%q}`, k1.token(t, claims(nil)))); !strings.HasPrefix(r, `40{"sid":`) {
		t.Errorf("socket.io connect with a token: %s", r)
	}

	// PeerJS: the id must be the token's sub.
	peer := func(id, token string) string {
		t.Helper()
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/peerjs/peerjs?key=peerjs&id="+id+"&token="+token, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		_, reply, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(reply)
	}
	if r := peer("bob", k1.token(t, claims(nil))); r != `{"type":"ERROR","payload":{"msg":"Invalid token provided"}}` {
		t.Errorf("peerjs with another sub: %s", r)
	}
	if r := peer("alice", k1.token(t, claims(nil))); r != `{"type":"OPEN"}` {
		t.Errorf("peerjs: %s", r)
	}

	// Rotation: k2 added, k1 dropped, SIGHUP.
	writeJWKS(t, jwks, k2)
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.WaitOutput(t, `"msg":"jwks reloaded"`, 10*time.Second)
	if r := joinWith("r", k2Token); !strings.Contains(r, `"type":"joined"`) {
		t.Errorf("join with the new key after SIGHUP: %s", r)
	}
	if r := joinWith("r", k1.token(t, claims(nil))); !strings.Contains(r, `"code":"unauthorized"`) {
		t.Errorf("join with the dropped key after SIGHUP: %s", r)
	}
	// A broken file on SIGHUP is logged and the keys in use stay.
	if err := os.WriteFile(jwks, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.WaitOutput(t, `"msg":"jwks reload failed; keeping the keys in use"`, 10*time.Second)
	if r := joinWith("r", k2Token); !strings.Contains(r, `"type":"joined"`) {
		t.Errorf("join after a failed reload: %s", r)
	}

	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

package sioservice

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/internal/testutil"
)

// TestInteropAuthSocketIOClient runs the npm socket.io-client against the
// service with JWT auth on: `auth: {token}` with a good token connects and
// its room claims apply, also after connection-state recovery; a bad or
// missing token
// gets connect_error "unauthorized".
func TestInteropAuthSocketIOClient(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	node := testutil.Node(t)
	modules := testutil.NodeModules(t)
	v, err := auth.New(auth.Config{Secret: jwtSecret})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Auth: v, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Register(mux)
	hs := httptest.NewServer(mux) // 127.0.0.1, a free port
	defer hs.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Error(err)
		}
	}()

	good := mint(t, jwt.MapClaims{"sub": "alice", "rooms": []string{"lobby", "team-*"}, "publish": []string{"lobby"}})
	bad := good[:len(good)-4] + "AAAA" // a broken signature
	if bad == good {
		bad = good[:len(good)-4] + "BBBB"
	}
	script, _ := filepath.Abs("testdata/auth.mjs")
	p := testutil.StartProcess(t, node, []string{script, hs.URL, good, bad}, func(c *exec.Cmd) {
		c.Env = append(c.Environ(), "NODE_MODULES="+modules)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = p.Wait(ctx)
	out := p.Output()
	for _, step := range []string{"ok refused bad token", "ok refused no token", "ok refused polling, bad token", "ok accepted", "ok claims", "ok recovered"} {
		if !strings.Contains(out, step) {
			t.Errorf("step %q did not pass", step)
		}
	}
	if err != nil {
		t.Fatalf("auth.mjs: %v\n%s", err, out)
	}
}

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// serveProfile runs a profile's mounts on a fresh loopback port, as main
// does, and returns its base URL.
func serveProfile(t *testing.T, name string) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ws, err := websocket.NewServer(websocket.Config{
		MaxMessageSize: protocolMaxPayload,
		CheckOrigin:    func(*http.Request) bool { return true },
		Logger:         log,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{mux: http.NewServeMux(), ws: ws, log: log}
	var shutdowns []func(context.Context) error
	for _, m := range profiles[name].mounts {
		sd, err := m(e)
		if err != nil {
			t.Fatal(err)
		}
		shutdowns = append(shutdowns, sd)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ws.Serve(ln, e.mux) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, sd := range shutdowns {
			if err := sd(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
		ws.Shutdown(ctx)
		<-served
	})
	return "http://" + ln.Addr().String()
}

// TestClientProfile runs cases of socket.io-client's own test suite, ported
// to testdata/socketio_client_profile.mjs, against --profile client with the
// npm socket.io-client. The full official suite is the check recorded in
// docs/conformance-socketio.md.
func TestClientProfile(t *testing.T) {
	node := testutil.Node(t)
	modules := testutil.NodeModules(t)
	url := serveProfile(t, "client")
	script, _ := filepath.Abs("testdata/socketio_client_profile.mjs")
	p := testutil.StartProcess(t, node, []string{script, url}, func(c *exec.Cmd) {
		c.Env = append(c.Environ(), "NODE_MODULES="+modules)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("%v\n%s", err, p.Output())
	}
	if n := strings.Count(p.Output(), "ok "); n != 9 {
		t.Fatalf("%d cases passed, want 9:\n%s", n, p.Output())
	}
}

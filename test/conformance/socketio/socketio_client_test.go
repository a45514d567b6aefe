package main

import (
	"context"
	"errors"
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
		// Sessions the client abandoned mid-handshake (a namespace refused
		// before the polling handshake completed) would only end with their
		// heartbeat; engineio's Shutdown closes them by force once ctx ends
		// and reports ctx's error. That is the expected path here.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, sd := range shutdowns {
			// socketio's own Shutdown (prefix "socketio:") must always
			// finish in time: it only waits for handlers.
			if err := sd(ctx); err != nil && (!errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "socketio:")) {
				t.Errorf("shutdown: %v", err)
			} else if err != nil {
				t.Logf("shutdown: %v (abandoned sessions closed by force)", err)
			}
		}
		ws.Shutdown(context.Background())
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

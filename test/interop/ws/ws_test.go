// Package ws_test checks our WebSocket engine against other people's
// implementations: npm `ws` (client and server) and Chromium's own WebSocket,
// driven through playwright-core. The scripts live in test/node; the npm
// packages come from test/node/node_modules (scripts/deps.sh runs npm ci).
// Missing node, node_modules or chromium skip these tests locally and fail
// them in CI (CI=true).
package ws_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// TestMain fails the package if goroutines started during the tests are
// still running once every server has shut down.
func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }

// echoConfig is the server configuration under test: compression on, with
// every message compressed, room for the 1 MiB-plus messages the scripts
// send, one subprotocol, and the default (same-origin) Origin check.
func echoConfig() websocket.Config {
	return websocket.Config{
		Compression:          true,
		CompressionThreshold: 1, // compress everything but empty messages
		MaxMessageSize:       maxMessageSize,
		WriteBufferLimit:     64 << 20,
		Subprotocols:         []string{"switchboard.v1"},
	}
}

// maxMessageSize is the echo server's limit; the scripts check that one byte
// more is refused with 1009.
const maxMessageSize = 16 << 20

// echoHandler sends every message back with its type.
var echoHandler = websocket.HandlerFuncs{
	Message: func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
		if err := c.WriteMessage(typ, data); err != nil {
			_ = c.Close(websocket.StatusCode(1011), "echo: "+err.Error())
		}
	},
}

const echoPage = `<!doctype html><title>switchboard interop</title><p>ws interop page`

// echoMux serves /echo (the upgrade) and / (a page, so a browser can make a
// same-origin request).
func echoMux(t *testing.T, srv *websocket.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if _, err := srv.Upgrade(w, r, echoHandler); err != nil {
			t.Logf("upgrade: %v", err)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, echoPage)
	})
	return mux
}

// startServe runs the echo server with Server.Serve on a loopback listener
// (the event-loop path on Linux) and returns its base host:port.
func startServe(t *testing.T) string {
	t.Helper()
	srv, err := websocket.NewServer(echoConfig())
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln, echoMux(t, srv)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) && !strings.Contains(err.Error(), "closed") {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return after Shutdown")
		}
	})
	return ln.Addr().String()
}

// startHTTP runs the echo server behind a plain net/http server, reaching
// connections through Server.Upgrade (the hijack path library users take).
func startHTTP(t *testing.T) string {
	t.Helper()
	srv, err := websocket.NewServer(echoConfig())
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	hs := httptest.NewServer(echoMux(t, srv))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return hs.Listener.Addr().String()
}

// startTLS runs the echo server behind net/http over TLS (wss://), where
// connections stay on the goroutine driver. It returns host:port and the
// path of a PEM file holding the server's certificate, for clients to trust.
func startTLS(t *testing.T) (addr, caFile string) {
	t.Helper()
	srv, err := websocket.NewServer(echoConfig())
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	hs := httptest.NewTLSServer(echoMux(t, srv))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	if err := os.WriteFile(caFile, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return hs.Listener.Addr().String(), caFile
}

var servers = []struct {
	name  string
	start func(*testing.T) string
}{
	{"Serve", startServe},
	{"Upgrade", startHTTP},
}

// checkPassed fails the test unless a script's output ends with its PASS
// line and has no FAIL line. (testutil logs the whole output with -v.)
func checkPassed(t *testing.T, script, out string) {
	t.Helper()
	if strings.Contains(out, "\nFAIL") || strings.HasPrefix(out, "FAIL") || !strings.Contains(out, "PASS "+script) {
		t.Fatalf("%s did not pass:\n%s", script, out)
	}
}

// TestNodeWSClient: npm ws as the client against our server — text, binary,
// 1 MiB, fragmented, bursts, ping, close; without and with permessage-deflate.
func TestNodeWSClient(t *testing.T) {
	testutil.Node(t)
	testutil.NodeModules(t)
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			addr := s.start(t)
			out := testutil.RunNode(t, 90*time.Second, "ws_client.mjs", "ws://"+addr+"/echo", fmt.Sprint(maxMessageSize))
			checkPassed(t, "ws_client", out)
			for _, want := range []string{"ok large-binary", "ok deflate-negotiated", "ok deflate-large-text", "ok deflate-fragmented-binary",
				"ok invalid-utf8-1007", "ok deflate-invalid-utf8-1007", "ok too-big-1009", "ok deflate-too-big-1009"} {
				if !strings.Contains(out, want) {
					t.Errorf("ws_client output lacks %q", want)
				}
			}
		})
	}
}

// TestNodeWSClientTLS: the same exchange over wss:// (TLS connections use the
// goroutine driver, not the event loops). Node trusts the test certificate
// through NODE_EXTRA_CA_CERTS.
func TestNodeWSClientTLS(t *testing.T) {
	testutil.Node(t)
	testutil.NodeModules(t)
	addr, caFile := startTLS(t)
	t.Setenv("NODE_EXTRA_CA_CERTS", caFile)
	out := testutil.RunNode(t, 90*time.Second, "ws_client.mjs", "wss://"+addr+"/echo", fmt.Sprint(maxMessageSize))
	checkPassed(t, "ws_client", out)
	for _, want := range []string{"ok large-binary", "ok deflate-negotiated", "ok deflate-large-text", "ok invalid-utf8-1007", "ok too-big-1009"} {
		if !strings.Contains(out, want) {
			t.Errorf("ws_client output lacks %q", want)
		}
	}
}

// TestChromiumWebSocket: Chromium's WebSocket from a page served by our
// server (same origin), with permessage-deflate and a subprotocol
// negotiated, against both server entry points in one browser launch; and
// from a page of another origin, which the default Origin check must refuse.
func TestChromiumWebSocket(t *testing.T) {
	chromium := testutil.Chromium(t)
	testutil.Node(t)
	testutil.NodeModules(t)
	t.Setenv("CHROMIUM_PATH", chromium)
	// Chromium's own temporary files go where the test cleans up, even when
	// a failing run kills the browser.
	t.Setenv("TMPDIR", t.TempDir())
	var args, addrs []string
	for _, s := range servers {
		addr := s.start(t)
		addrs = append(addrs, addr)
		args = append(args, "ws://"+addr+"/echo", "http://"+addr+"/")
	}
	// Another origin: the same page served from a different port.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, echoPage)
	}))
	t.Cleanup(other.Close)
	for _, addr := range addrs {
		args = append(args, "!ws://"+addr+"/echo", other.URL+"/")
	}
	out := testutil.RunNode(t, 180*time.Second, "chromium_ws.mjs", args...)
	checkPassed(t, "chromium_ws", out)
	for _, want := range []string{"ok subprotocol (switchboard.v1)", "ok deflate-negotiated (", "ok large-binary (", "ok large-text-compressible (", "ok close-1000", "ok refused ("} {
		if n := strings.Count(out, want); n != len(servers) {
			t.Errorf("chromium_ws output has %q %d times, want %d (once per server)", want, n, len(servers))
		}
	}
}

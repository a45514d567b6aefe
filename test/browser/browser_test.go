// Package browser_test runs Switchboard's WebRTC signaling against real
// browsers: Debian's Chromium driven by npm playwright-core, with pages that
// connect through /signal and through /peerjs with the unchanged npm peerjs
// client, and peer connections relayed by our TURN server (turn_test.go).
// The scripts (*.mjs) and pages live next to this file; npm
// packages come from test/node/node_modules. Missing node, node_modules or
// chromium skip these tests locally and fail them in CI (CI=true).
package browser_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/leakcheck"
	"github.com/switchboard/switchboard/internal/sioservice"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/peerjs"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/web"
)

// TestMain fails the package if goroutines started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// env is a test server on a loopback port: the demo at /, Socket.IO with
// the default-namespace service, /signal, /peerjs, the test pages and the
// peerjs client bundle (as cmd/switchboard mounts them).
type env struct {
	base   string // http://127.0.0.1:port
	signal *signaling.Server
	peerjs *peerjs.Server
}

func startEnv(t *testing.T, pcfg peerjs.Config) *env {
	t.Helper()
	modules := testutil.NodeModules(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sig, err := signaling.New(signaling.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	pcfg.Logger = logger
	pj, err := peerjs.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	sio, err := socketio.New(socketio.Config{Recovery: &socketio.RecoveryConfig{}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sioservice.Install(sio.Of("/"))
	eio, err := engineio.New(engineio.Config{Handler: sio.EngineHandler(), MaxPayload: 1_000_000, CORS: engineio.CORS{Origins: []string{"*"}}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.Handle("/socket.io/", eio)
	mux.Handle("/signal", sig)
	mux.Handle("/peerjs", pj)
	mux.Handle("/peerjs/", pj)
	mux.Handle("/pages/", http.StripPrefix("/pages/", http.FileServer(http.Dir("pages"))))
	mux.HandleFunc("/vendor/peerjs.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(modules, "peerjs", "dist", "peerjs.min.js"))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sio.Shutdown(ctx); err != nil {
			t.Errorf("socketio Shutdown: %v", err)
		}
		if err := eio.Shutdown(ctx); err != nil {
			t.Errorf("engineio Shutdown: %v", err)
		}
		if err := sig.Shutdown(ctx); err != nil {
			t.Errorf("signaling Shutdown: %v", err)
		}
		if err := pj.Shutdown(ctx); err != nil {
			t.Errorf("peerjs Shutdown: %v", err)
		}
		hs.Close()
	})
	return &env{base: hs.URL, signal: sig, peerjs: pj}
}

// runScript runs `node <script> args...` from this directory with Chromium
// and the npm packages located, and returns its output once it passed.
func runScript(t *testing.T, name string, args ...string) string {
	t.Helper()
	node := testutil.Node(t)
	modules := testutil.NodeModules(t)
	chromium := testutil.Chromium(t)
	tmp := t.TempDir() // Chromium's temporary files, removed even if it is killed
	p := testutil.StartProcess(t, node, append([]string{name + ".mjs"}, args...), func(c *exec.Cmd) {
		c.Env = append(os.Environ(), "NODE_MODULES="+modules, "CHROMIUM_PATH="+chromium, "TMPDIR="+tmp)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 330*time.Second)
	defer cancel()
	err := p.Wait(ctx)
	out := p.Output()
	if err != nil || !strings.Contains(out, "\nPASS ") && !strings.HasPrefix(out, "PASS ") || strings.Contains(out, "\nFAIL") {
		t.Fatalf("node %s.mjs %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func requireLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains("\n"+out, "\n"+l) {
			t.Errorf("output lacks %q", l)
		}
	}
}

// TestSignalPair: two pages through /signal; the newer offers; data both
// ways; fake video decoded on both sides; leave and page close → peer-left.
func TestSignalPair(t *testing.T) {
	e := startEnv(t, peerjs.Config{})
	out := runScript(t, "signal", e.base, "pair")
	requireLines(t, out, "ok newer-peer-offers", "ok ice-servers", "ok loopback-pair", "ok video-decoded",
		"ok datachannel-both-ways", "ok leave-peer-left", "ok rejoin", "ok close-peer-left")
	if n := e.signal.Hub().Len(); n > 1 {
		t.Errorf("%d sessions left after the pages closed", n)
	}
}

// TestSignalMesh: four pages in one room, all 12 directed links with data
// and video.
func TestSignalMesh(t *testing.T) {
	e := startEnv(t, peerjs.Config{})
	out := runScript(t, "signal", e.base, "mesh")
	requireLines(t, out, "ok mesh-links 12")
}

// TestPeerJS: the npm peerjs client bundle in two pages against /peerjs:
// data and media both ways, unavailable-id, peer-unavailable, and (beyond
// the stock server) the call closing when the other page goes away.
func TestPeerJS(t *testing.T) {
	e := startEnv(t, peerjs.Config{ExpireTimeout: time.Second, LeaveGrace: 300 * time.Millisecond})
	out := runScript(t, "peerjs", e.base)
	requireLines(t, out, "ok open", "ok data-both-ways", "ok media-both-ways", "ok unavailable-id", "ok peer-unavailable", "ok call-closed-on-leave")
}

// TestDemo: the demo page in two browsers — lobby, chat both ways over
// Socket.IO, video both ways over /signal, mute, leave. Screenshots go to
// test/artifacts/ (gitignored) for people and CI to look at.
func TestDemo(t *testing.T) {
	e := startEnv(t, peerjs.Config{})
	shots := filepath.Join(testutil.RepoRoot(t), "test", "artifacts")
	out := runScript(t, "demo", e.base, shots, "pair")
	requireLines(t, out, "ok video-both-ways", "ok chat-both-ways", "ok mute-toggle", "ok screenshots", "ok leave")
	for _, f := range []string{"demo-alice.png", "demo-bob.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 10_000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}

// TestDemoFull: four people fill a call in the demo (two with cameras, two
// receive-only), each seeing the other three; a fifth is told the call is
// full and can still chat.
func TestDemoFull(t *testing.T) {
	e := startEnv(t, peerjs.Config{})
	shots := filepath.Join(testutil.RepoRoot(t), "test", "artifacts")
	out := runScript(t, "demo", e.base, shots, "full")
	requireLines(t, out, "ok four-in-call", "ok fifth-told-full")
}

package engineio

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// TestEngineIOClient runs the official npm engine.io-client (6.x, from
// test/node/node_modules) against an echo server in each transport mode:
// text, binary and a 100 kB message, both before and after several
// heartbeats and, in upgrade mode, the upgrade from polling to WebSocket.
// Without node or node_modules it is skipped, except in CI.
func TestEngineIOClient(t *testing.T) {
	node := testutil.Node(t)
	modules := testutil.NodeModules(t)
	script, err := filepath.Abs("testdata/eio_client.cjs")
	if err != nil {
		t.Fatal(err)
	}
	cfg := quietConfig()
	// Several heartbeats during the run; a timeout generous for a loaded machine.
	cfg.PingInterval, cfg.PingTimeout = 150*time.Millisecond, 3*time.Second
	h := newHarness(t, cfg, true)
	base := strings.TrimSuffix(h.url, "/engine.io/")
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			p := testutil.StartProcess(t, node, []string{script, base, mode}, func(c *exec.Cmd) {
				c.Env = append(c.Environ(), "NODE_PATH="+modules)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := p.Wait(ctx); err != nil {
				t.Fatalf("engine.io-client %s: %v\n%s", mode, err, p.Output())
			}
			want := "OK " + mode
			if mode == "upgrade" {
				want = "OK websocket"
			}
			if !strings.Contains(p.Output(), want) {
				t.Fatalf("output %q, want %q", p.Output(), want)
			}
		})
	}
	eventually(t, "sessions closed", func() bool { return h.srv.Len() == 0 })
}

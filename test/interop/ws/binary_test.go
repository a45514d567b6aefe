package ws_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// TestBinaryEcho builds the switchboard binary and drives `switchboard --echo`
// (the endpoint the Autobahn runs and benchmarks use, see docs/conformance.md)
// with npm ws: the same cases as TestNodeWSClient, through the real flags,
// configuration and routing.
func TestBinaryEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	testutil.Node(t)
	testutil.NodeModules(t)
	goTool := testutil.LookPath(t, "go")
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/switchboard")
	build.Dir = testutil.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/switchboard: %v\n%s", err, out)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	// TURN is configured through the environment (the contract's
	// SWITCHBOARD_<FLAG>) so it stays off the default :3478.
	testutil.StartProcess(t, bin, []string{"--echo", "--listen", addr}, func(c *exec.Cmd) {
		c.Env = append(c.Environ(), "SWITCHBOARD_TURN_LISTEN=off")
	})
	testutil.WaitTCP(t, addr, 30*time.Second)

	out := testutil.RunNode(t, 90*time.Second, "ws_client.mjs", "ws://"+addr+"/echo")
	checkPassed(t, "ws_client", out)
	for _, want := range []string{"ok large-binary", "ok deflate-negotiated", "ok deflate-large-text"} {
		if !strings.Contains(out, want) {
			t.Errorf("ws_client output lacks %q", want)
		}
	}
}

package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// runBrowser runs test/browser/<name>.mjs with Chromium and returns its
// output once it passed.
func runBrowser(t *testing.T, name string, args ...string) string {
	t.Helper()
	node := testutil.Node(t)
	modules := testutil.NodeModules(t)
	chromium := testutil.Chromium(t)
	tmp := t.TempDir()
	p := testutil.StartProcess(t, node, append([]string{name + ".mjs"}, args...), func(c *exec.Cmd) {
		c.Dir = filepath.Join(testutil.RepoRoot(t), "test", "browser")
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

// TestBrowserAcrossNodes runs the signaling issue's browser tests with the
// two pages on different nodes: /signal (the newer page offers, video and
// data both ways, leave and page close → peer-left, rejoin) and /peerjs
// with the unchanged npm client (media and data both ways, unavailable-id
// for an id held on the other node, peer-unavailable, the call closed by
// LEAVE when the other page goes away).
func TestBrowserAcrossNodes(t *testing.T) {
	addr := testutil.StartRedis(t)
	n1, n2 := startGoNode(t, addr), startGoNode(t, addr)
	out := runBrowser(t, "signal", n1.url, "pair", n2.url)
	requireLines(t, out, "ok newer-peer-offers", "ok loopback-pair", "ok video-decoded",
		"ok datachannel-both-ways", "ok leave-peer-left", "ok rejoin", "ok close-peer-left")
	out = runBrowser(t, "peerjs", n1.url, n2.url)
	requireLines(t, out, "ok open", "ok data-both-ways", "ok media-both-ways", "ok unavailable-id", "ok peer-unavailable", "ok call-closed-on-leave")
}

package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// startNodeProcess runs a Go node in a child process (this test binary in
// node mode) and returns it with its URL.
func startNodeProcess(t *testing.T, redisAddr string) (*testutil.Process, string) {
	t.Helper()
	p := testutil.StartProcess(t, os.Args[0], []string{"-test.run=^$"}, func(c *exec.Cmd) {
		c.Env = append(os.Environ(), "SWITCHBOARD_CLUSTER_NODE="+redisAddr)
	})
	p.WaitOutput(t, "listening http://", 15*time.Second)
	_, rest, _ := strings.Cut(p.Output(), "listening ")
	url, _, _ := strings.Cut(rest, "\n")
	return p, url
}

func fetchIDs(t *testing.T, n *goNode, rooms ...string) ([]string, error) {
	socks, err := n.nsp().In(rooms...).FetchSockets(context.Background())
	var ids []string
	for _, s := range socks {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids, err
}

// TestNodeKilled: a Go node killed with SIGKILL drops out of the server
// count and of fetchSockets on the surviving Go and Node.js nodes as soon as
// Redis sees its connections close.
func TestNodeKilled(t *testing.T) {
	addr := testutil.StartRedis(t)
	js := startJSServer(t, addr)
	g := startGoNode(t, addr)
	victim, vurl := startNodeProcess(t, addr)
	waitFor(t, "3 nodes", 10*time.Second, func() bool {
		n, err := g.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 3
	})
	cs := startClients(t)
	for id, url := range map[string]string{"g": g.url, "v1": vurl, "v2": vurl, "j": js.url} {
		cs.connect(t, id, url)
		cs.emitAck(t, id, "join", "r")
	}
	if ids, err := fetchIDs(t, g, "r"); err != nil || len(ids) != 4 {
		t.Fatalf("before the kill: %v %v", ids, err)
	}

	if err := syscall.Kill(victim.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// docs/scaleout.md: gone from every view within 2 s of the kill.
	waitFor(t, "Go node sees 2 servers", 2*time.Second, func() bool {
		n, err := g.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 2
	})
	ids, err := fetchIDs(t, g, "r")
	if err != nil || slices.Contains(ids, cs.sids["v1"]) || len(ids) != 2 {
		t.Fatalf("Go fetchSockets after the kill: %v %v", ids, err)
	}
	elapsed := time.Since(start)
	l := js.waitSeq(t, "fetched", js.send(map[string]any{"op": "fetch", "rooms": []string{"r"}}))
	if n := len(l["sockets"].([]any)); n != 2 {
		t.Fatalf("Node fetchSockets after the kill: %v", l)
	}
	t.Logf("killed node gone from cluster views after %v", elapsed)
	// A broadcast still reaches the survivors once.
	if err := g.nsp().To("r").Emit("after"); err != nil {
		t.Fatal(err)
	}
	cs.waitEvent(t, "j", "after")
	cs.waitEvent(t, "g", "after")
}

// TestRedisRestartMidTest: Redis is killed and restarted under a mixed
// cluster. Each node keeps serving its own clients and the Go nodes report
// not ready; after the restart every node reconnects and cross-node
// broadcasts flow again in both directions.
func TestRedisRestartMidTest(t *testing.T) {
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startRedis := func() *testutil.Process {
		p := testutil.StartProcess(t, testutil.LookPath(t, "redis-server"), []string{
			"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir()})
		testutil.WaitTCP(t, addr, 15*time.Second)
		return p
	}
	rs := startRedis()
	js := startJSServer(t, addr)
	g1, g2 := startGoNode(t, addr), startGoNode(t, addr)
	cs := startClients(t)
	for id, url := range map[string]string{"a": g1.url, "b": g2.url, "j": js.url} {
		cs.connect(t, id, url)
	}
	waitFor(t, "3 nodes", 10*time.Second, func() bool {
		n, err := g1.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 3
	})
	g1.nsp().Emit("before")
	for _, id := range []string{"a", "b", "j"} {
		cs.waitEvent(t, id, "before")
	}

	if err := syscall.Kill(-rs.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "Go nodes not ready", 10*time.Second, func() bool { return !g1.cl.Ready() && !g2.cl.Ready() })
	t.Logf("not ready after %v", time.Since(start))
	g1.nsp().Emit("during")
	cs.waitEvent(t, "a", "during")
	if ack := cs.emitAck(t, "b", "join", "solo"); ack[0].(map[string]any)["members"] != float64(1) {
		t.Fatalf("join while Redis is down: %v", ack)
	}

	startRedis()
	start = time.Now()
	waitFor(t, "Go nodes ready", 15*time.Second, func() bool { return g1.cl.Ready() && g2.cl.Ready() })
	waitFor(t, "3 nodes again", 15*time.Second, func() bool {
		n, err := g1.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 3
	})
	t.Logf("all 3 nodes subscribed again %v after the restart", time.Since(start))
	g2.nsp().Emit("after-go")
	js.waitSeq(t, "done", js.send(map[string]any{"op": "emit", "event": "after-js"}))
	for _, id := range []string{"a", "b", "j"} {
		cs.waitEvent(t, id, "after-go")
		cs.waitEvent(t, id, "after-js")
	}
	if n := len(cs.events("b", "during")) + len(cs.events("j", "during")); n != 0 {
		t.Fatalf("a broadcast made while Redis was down reached other nodes %d times", n)
	}
}

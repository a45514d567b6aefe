package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// node is a switchboard process of the cluster test.
type node struct {
	cmd  *exec.Cmd
	addr string
}

func startNode(t *testing.T, bin, redisURL string) *node {
	t.Helper()
	n := &node{addr: freeAddr(t)}
	n.cmd = exec.Command(bin, "--listen", n.addr, "--turn-listen", "off", "--redis-url", redisURL, "--log-level", "warn")
	var logs strings.Builder
	n.cmd.Stderr = &logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopAt := time.Now()
		defer func() { t.Logf("node %s stopped in %v", n.addr, time.Since(stopAt).Round(time.Millisecond)) }()
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = n.cmd.Process.Kill()
			<-done
		}
		if t.Failed() || os.Getenv("CLUSTER_LOGS") != "" {
			t.Logf("node %s log:\n%s", n.addr, logs.String())
		}
	})
	testutil.WaitTCP(t, n.addr, 15*time.Second)
	return n
}

func (n *node) ready() int {
	resp, err := http.Get("http://" + n.addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitReady(t *testing.T, n *node, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n.ready() != want {
		if time.Now().After(deadline) {
			t.Fatalf("node %s: /readyz never answered %d (last %d)", n.addr, want, n.ready())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterThroughRedis runs two nodes on a real redis-server: signaling
// peers on different nodes find each other and relay offers, and /readyz
// follows Redis going away and coming back.
func TestClusterThroughRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and two nodes")
	}
	redisBin := testutil.LookPath(t, "redis-server")
	bin := buildBinary(t)
	port := testutil.FreePort(t)
	startRedis := func() *exec.Cmd {
		cmd := exec.Command(redisBin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testutil.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), 15*time.Second)
		return cmd
	}
	redisCmd := startRedis()
	defer func() {
		if redisCmd != nil {
			_ = redisCmd.Process.Kill()
			_ = redisCmd.Wait()
		}
	}()
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	start := time.Now()
	phase := func(name string) { t.Logf("%-28s %v", name, time.Since(start).Round(time.Millisecond)) }
	a, b := startNode(t, bin, url), startNode(t, bin, url)
	waitReady(t, a, 200)
	waitReady(t, b, 200)
	phase("nodes ready")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dial := func(n *node) *websocket.ClientConn {
		c, _, err := websocket.Dial(ctx, "ws://"+n.addr+"/signal", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		return c
	}
	read := func(c *websocket.ClientConn, want string) string {
		t.Helper()
		for {
			_, m, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			if strings.Contains(string(m), `"type":"`+want+`"`) {
				return string(m)
			}
		}
	}
	pa, pb := dial(a), dial(b)
	_ = pa.Write(ctx, websocket.TextMessage, []byte(`{"type":"join","room":"x","name":"ann"}`))
	joinedA := read(pa, "joined")
	idA := field(joinedA, "id")
	_ = pb.Write(ctx, websocket.TextMessage, []byte(`{"type":"join","room":"x","name":"bob"}`))
	joinedB := read(pb, "joined")
	if !strings.Contains(joinedB, idA) {
		t.Fatalf("bob on node B does not see ann from node A: %s", joinedB)
	}
	idB := field(joinedB, "id")
	if pj := read(pa, "peer-joined"); !strings.Contains(pj, idB) {
		t.Fatalf("ann got %s", pj)
	}
	_ = pb.Write(ctx, websocket.TextMessage, []byte(`{"type":"offer","to":"`+idA+`","sdp":"v=0 cross-node"}`))
	if offer := read(pa, "offer"); !strings.Contains(offer, `"from":"`+idB+`"`) || !strings.Contains(offer, "cross-node") {
		t.Fatalf("offer across nodes: %s", offer)
	}
	_ = pb.CloseNow()
	if left := read(pa, "peer-left"); !strings.Contains(left, idB) {
		t.Fatalf("peer-left across nodes: %s", left)
	}

	phase("signaling across nodes")
	// Redis down: both nodes report not ready, and still serve their own clients.
	_ = redisCmd.Process.Signal(os.Kill)
	_ = redisCmd.Wait()
	redisCmd = nil
	waitReady(t, a, http.StatusServiceUnavailable)
	waitReady(t, b, http.StatusServiceUnavailable)
	phase("not ready after redis died")
	if code, _ := getStatus("http://" + a.addr + "/healthz"); code != 200 {
		t.Fatalf("/healthz while Redis is down: %d", code)
	}
	// Redis back: ready again.
	redisCmd = startRedis()
	waitReady(t, a, 200)
	waitReady(t, b, 200)
	phase("ready after redis returned")
}

func getStatus(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// field extracts a top-level string field from a JSON frame (test helper).
func field(frame, name string) string {
	i := strings.Index(frame, `"`+name+`":"`)
	if i < 0 {
		return ""
	}
	rest := frame[i+len(name)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

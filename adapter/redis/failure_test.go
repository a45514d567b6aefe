package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

func startRedisOn(t *testing.T, port int) *testutil.Process {
	t.Helper()
	p := testutil.StartProcess(t, testutil.LookPath(t, "redis-server"), []string{
		"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir(),
	})
	testutil.WaitTCP(t, fmt.Sprintf("127.0.0.1:%d", port), 15*time.Second)
	return p
}

// TestRedisRestart stops Redis under two nodes and starts it again: each
// node keeps serving its own clients, reports not ready, logs each change
// once, reconnects and resumes cross-node delivery.
func TestRedisRestart(t *testing.T) {
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rs := startRedisOn(t, port)
	// Default HealthInterval: a dead Redis shows as EOF at once, and short
	// pings could fail spuriously on a loaded machine and add state changes.
	opts := Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	a, b := newNode(t, addr, opts), newNode(t, addr, opts)
	waitCount(t, []*node{a, b}, 2)
	ca, cb := connect(t, a), connect(t, b)
	sentinel(t, a, ca, cb)

	if err := syscall.Kill(-rs.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "both nodes not ready", 5*time.Second, func() bool { return !a.cl.Ready() && !b.cl.Ready() })
	t.Logf("not ready %v after Redis died", time.Since(start))

	// Local service goes on.
	if err := a.nsp().Emit("local"); err != nil {
		t.Fatal(err)
	}
	ca.waitEvent(t, "local")
	socks, err := a.nsp().FetchSockets(context.Background())
	if err != nil || len(socks) != 1 || socks[0].ID != ca.sid {
		t.Fatalf("fetchSockets while Redis is down: %v %v", socks, err)
	}
	if n, err := a.nsp().Adapter().ServerCount(context.Background()); n != 1 || err != nil {
		t.Fatalf("server count while down: %d %v", n, err)
	}
	time.Sleep(300 * time.Millisecond) // a few failed reconnections
	if cb.count("local") != 0 {
		t.Fatal("local-only broadcast crossed nodes")
	}

	startRedisOn(t, port)
	start = time.Now()
	waitFor(t, "both nodes ready again", 10*time.Second, func() bool { return a.cl.Ready() && b.cl.Ready() })
	t.Logf("ready %v after Redis restarted", time.Since(start))
	waitCount(t, []*node{a, b}, 2)
	if err := b.nsp().Emit("again"); err != nil {
		t.Fatal(err)
	}
	ca.waitEvent(t, "again")
	cb.waitEvent(t, "again")

	for _, n := range []*node{a, b} {
		logs := n.log.String()
		if d, u := strings.Count(logs, "Redis unavailable"), strings.Count(logs, "connected to Redis"); d != 1 || u != 2 {
			t.Errorf("want 1 down and 2 up lines, got %d and %d:\n%s", d, u, logs)
		}
	}
	if a.cl.Stats().Dropped == 0 {
		t.Error("the broadcast made while Redis was down is not counted as dropped")
	}
}

// TestNodeGone: a node that leaves (here: its Redis connections close, as
// when its process is killed) drops out of the server count and of every
// cluster-wide view at once.
func TestNodeGone(t *testing.T) {
	_, nodes := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	connect(t, a)
	connect(t, b)
	connect(t, c)
	all, err := a.nsp().FetchSockets(context.Background())
	if err != nil || len(all) != 3 {
		t.Fatalf("%d sockets, %v", len(all), err)
	}
	c.cl.Shutdown(context.Background())
	c.rdb.Close()
	start := time.Now()
	waitCount(t, nodes[:2], 2)
	all, err = a.nsp().FetchSockets(context.Background())
	if err != nil || len(all) != 2 {
		t.Fatalf("after node c left: %d sockets, %v", len(all), err)
	}
	t.Logf("node gone from views after %v", time.Since(start))
}

// TestRedisUnresponsive: Redis stops answering without closing connections
// (CLIENT PAUSE); the subscriber's ping goes unanswered, the node reports not
// ready, and recovers when Redis answers again.
func TestRedisUnresponsive(t *testing.T) {
	addr := testutil.StartRedis(t)
	opts := Options{HealthInterval: 200 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	a := newNode(t, addr, opts)
	admin := newNode(t, addr, Options{}).rdb
	if err := admin.Do(context.Background(), "CLIENT", "PAUSE", "1500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "not ready during the pause", 5*time.Second, func() bool { return !a.cl.Ready() })
	t.Logf("not ready %v into the pause", time.Since(start))
	waitFor(t, "ready after the pause", 10*time.Second, a.cl.Ready)
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Fatalf("ready again %v into a 1.5 s pause", d)
	}
}

// TestRecoveryAfterOutage: a session kept while Redis was available is
// restored on its node; one that lived through a Redis outage is not, as
// broadcasts from other nodes may have been lost meanwhile.
func TestRecoveryAfterOutage(t *testing.T) {
	addr := testutil.StartRedis(t)
	cfg := socketio.Config{Recovery: &socketio.RecoveryConfig{}}
	a := newNodeConfig(t, addr, Options{}, cfg)
	b := newNodeConfig(t, addr, Options{}, cfg)
	waitCount(t, []*node{a, b}, 2)

	session := func() (c *client, offset string) {
		c = connect(t, a)
		if err := b.nsp().Emit("tick"); err != nil {
			t.Fatal(err)
		}
		p := c.waitEvent(t, "tick")
		elems, _ := packet.SplitArray(p.Data)
		json.Unmarshal(elems[len(elems)-1], &offset)
		c.Close() // a transport close: the session is kept
		waitFor(t, "socket gone", 5*time.Second, func() bool { _, ok := a.nsp().Socket(c.sid); return !ok })
		return c, offset
	}
	c, off := session()
	back := connectAuth(t, a, fmt.Sprintf(`{"pid":%q,"offset":%q}`, c.pid, off))
	if back.sid != c.sid {
		t.Fatalf("not restored without an outage: sid %s, was %s", back.sid, c.sid)
	}

	c, off = session()
	a.cl.setReady(false, errors.New("simulated outage"))
	a.cl.setReady(true, nil)
	back = connectAuth(t, a, fmt.Sprintf(`{"pid":%q,"offset":%q}`, c.pid, off))
	if back.sid == c.sid {
		t.Fatal("restored a session that lived through a Redis outage")
	}
}

package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	redisadapter "github.com/switchboard/switchboard/adapter/redis"
	"github.com/switchboard/switchboard/internal/testutil"
)

// TestRedisRestartPeers: Redis is killed and restarted under two Go nodes
// with /signal and /peerjs peers on each. While it is down the nodes are not
// ready, a signaling relay to the other node is answered with an internal
// error (the socket stays open) while one to a peer on the same node is
// delivered, a new signaling peer joins with its node's members, and a new
// PeerJS peer is served by its node alone. After the restart each node
// puts its signaling members and PeerJS ids back, the signaling peer that
// joined meanwhile and the other node's peers are told of each other, and
// frames cross nodes again both ways.
func TestRedisRestartPeers(t *testing.T) {
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startRedis := func() *testutil.Process {
		p := testutil.StartProcess(t, testutil.LookPath(t, "redis-server"), []string{
			"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir()})
		testutil.WaitTCP(t, addr, 15*time.Second)
		return p
	}
	rs := startRedis()
	n1, n2 := startGoNode(t, addr), startGoNode(t, addr)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })

	a, b, c := dialSignal(t, n1.url), dialSignal(t, n2.url), dialSignal(t, n1.url)
	a.join(t, "call", "ann")
	b.join(t, "call", "bob")
	a.next(t, "peer-joined")
	c.join(t, "call", "cy") // on ann's node
	a.next(t, "peer-joined")
	ann := dialPeerJS(t, n1.url, "ann", "t1")
	ann.expect(t, "OPEN", "")
	bob := dialPeerJS(t, n2.url, "bob", "t2")
	bob.expect(t, "OPEN", "")

	if err := syscall.Kill(-rs.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "nodes not ready", 10*time.Second, func() bool { return !n1.cl.Ready() && !n2.cl.Ready() })
	a.send(t, `{"type":"offer","to":"`+b.id+`","sdp":"v=0 lost"}`)
	if m := a.next(t, "error"); m["code"] != "internal" {
		t.Fatalf("relay while Redis is down: %v", m)
	}
	// Between two peers of one node, relays go on.
	a.send(t, `{"type":"offer","to":"`+c.id+`","sdp":"v=0 local"}`)
	if m := c.next(t, "offer"); m["from"] != a.id || m["sdp"] != "v=0 local" {
		t.Fatalf("local relay while Redis is down: %v", m)
	}
	// A join is served by the node alone: dan sees ann and cy, they see
	// dan, and relays between them work.
	d := dialSignal(t, n1.url)
	jd := d.join(t, "call", "dan")
	if peers := jd["peers"].([]any); len(peers) != 2 || peers[0].(map[string]any)["id"] != a.id || peers[1].(map[string]any)["id"] != c.id {
		t.Fatalf("dan's joined while Redis is down: %v", jd)
	}
	if m := c.next(t, "peer-joined"); m["id"] != d.id {
		t.Fatalf("cy's peer-joined while Redis is down: %v", m)
	}
	d.send(t, `{"type":"offer","to":"`+c.id+`","sdp":"v=0 dan"}`)
	if m := c.next(t, "offer"); m["from"] != d.id {
		t.Fatalf("offer from dan while Redis is down: %v", m)
	}
	solo := dialPeerJS(t, n1.url, "solo", "t3")
	solo.expect(t, "OPEN", "")

	startRedis()
	waitFor(t, "nodes ready", 15*time.Second, func() bool { return n1.cl.Ready() && n2.cl.Ready() })
	ctx := context.Background()
	waitFor(t, "members and ids back in Redis", 15*time.Second, func() bool {
		m := rdb.HGetAll(ctx, "socket.io-signal:room:call").Val()
		return m[a.id] != "" && m[b.id] != "" && rdb.Exists(ctx, "socket.io-peerjs:id:ann", "socket.io-peerjs:id:bob", "socket.io-peerjs:id:solo").Val() == 3
	})
	// bob and dan, who joined while Redis was down, find each other and
	// relay across nodes.
	if m := b.peerJoined(t, d.id); m["name"] != "dan" {
		t.Fatalf("bob's peer-joined after the restart: %v", m)
	}
	if m := d.peerJoined(t, b.id); m["name"] != "bob" {
		t.Fatalf("dan's peer-joined after the restart: %v", m)
	}
	b.send(t, `{"type":"offer","to":"`+d.id+`","sdp":"v=0 bob"}`)
	if m := d.next(t, "offer"); m["from"] != b.id || m["sdp"] != "v=0 bob" {
		t.Fatalf("offer to dan after the restart: %v", m)
	}
	d.send(t, `{"type":"answer","to":"`+b.id+`","sdp":"v=0 dan"}`)
	if m := b.next(t, "answer"); m["from"] != d.id || m["sdp"] != "v=0 dan" {
		t.Fatalf("answer from dan after the restart: %v", m)
	}
	a.send(t, `{"type":"offer","to":"`+b.id+`","sdp":"v=0 after"}`)
	if m := b.next(t, "offer"); m["from"] != a.id || m["sdp"] != "v=0 after" {
		t.Fatalf("offer after the restart: %v", m)
	}
	b.send(t, `{"type":"answer","to":"`+a.id+`","sdp":"v=0 a"}`)
	if m := a.next(t, "answer"); m["from"] != b.id {
		t.Fatalf("answer after the restart: %v", m)
	}
	ann.send(t, `{"type":"OFFER","dst":"bob","payload":{"n":1}}`)
	bob.expect(t, "OFFER", "ann")
	bob.send(t, `{"type":"ANSWER","dst":"solo","payload":{"n":2}}`)
	solo.expect(t, "ANSWER", "bob")
	// solo's id, served locally during the outage, is unique again.
	dialPeerJS(t, n2.url, "solo", "thief").expect(t, "ID-TAKEN", "")
}

// The PeerJS claims of the test nodes (serveNode): a node's ids stay
// claimed for pjIDTTL after its last refresh.
const (
	pjIDTTL   = 3 * time.Second
	pjRefresh = 250 * time.Millisecond
)

// TestPeerJSNodeKilled: a node with a PeerJS peer is killed with SIGKILL.
// Once Redis has seen the node's connections close, frames for that peer
// come back to their sender as EXPIRE (nobody receives them); its partner
// on another node gets LEAVE, once, when its id expires (docs/scaleout.md:
// within IDTTL + RefreshInterval of the kill); and its id is free for
// another token from then on.
func TestPeerJSNodeKilled(t *testing.T) {
	addr := testutil.StartRedis(t)
	n1 := startGoNode(t, addr)
	victim, vurl := startNodeProcess(t, addr)
	ann := dialPeerJS(t, n1.url, "ann", "t1")
	ann.expect(t, "OPEN", "")
	vic := dialPeerJS(t, vurl, "vic", "tv")
	vic.expect(t, "OPEN", "")
	ann.send(t, `{"type":"OFFER","dst":"vic","payload":{}}`)
	vic.expect(t, "OFFER", "ann")

	if err := syscall.Kill(victim.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// A frame published before Redis saw the node's connection close
	// counts as received and is lost; wait until it has.
	waitFor(t, "Redis sees the node gone", 10*time.Second, func() bool {
		n, err := n1.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 1
	})
	ann.send(t, `{"type":"CANDIDATE","dst":"vic","payload":{}}`)
	// EXPIRE (ExpireTimeout, 5 s) and LEAVE (IDTTL, 3 s), in either order.
	var leave time.Duration
	for got := map[string]bool{}; !got["EXPIRE"] || !got["LEAVE"]; {
		m := ann.next(t)
		typ, _ := m["type"].(string)
		if (typ != "EXPIRE" && typ != "LEAVE") || m["src"] != "vic" || got[typ] {
			t.Fatalf("ann got %v (so far %v)", m, got)
		}
		got[typ] = true
		if typ == "LEAVE" {
			leave = time.Since(start)
		}
	}
	t.Logf("the killed node's peer's partner got LEAVE after %v", leave)
	if bound := pjIDTTL + pjRefresh + time.Second; leave > bound { // a second for a loaded machine
		t.Errorf("LEAVE came %v after the kill, beyond the stated %v", leave, bound)
	}
	// The id is free once its claim expired: another token gets it.
	// Bounded: one attempt per 250 ms for 8 s.
	var opened bool
	for i := 0; i < 32 && !opened; i++ {
		m := dialPeerJS(t, n1.url, "vic", "new").next(t)
		switch m["type"] {
		case "OPEN":
			opened = true
		case "ID-TAKEN":
			time.Sleep(250 * time.Millisecond)
		default:
			t.Fatalf("claiming vic: %v", m)
		}
	}
	if !opened {
		t.Fatal("the killed node's id never became free")
	}
	t.Logf("the killed node's id was free again after %v", time.Since(start))
}

// TestPeerJSNodeShutdown: a node shut down cleanly keeps its PeerJS ids
// claimed for IDTTL (a client may come back through another node with its
// token meanwhile); then its peers' partners on other nodes get LEAVE.
func TestPeerJSNodeShutdown(t *testing.T) {
	addr := testutil.StartRedis(t)
	n1 := startGoNode(t, addr)
	n2, stop, err := serveNode(addr, redisadapter.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(stop) })
	waitFor(t, "node 2 ready", 10*time.Second, n2.cl.Ready)
	ann := dialPeerJS(t, n1.url, "ann", "t1")
	ann.expect(t, "OPEN", "")
	bob := dialPeerJS(t, n2.url, "bob", "t2")
	bob.expect(t, "OPEN", "")
	bob.send(t, `{"type":"OFFER","dst":"ann","payload":{}}`)
	ann.expect(t, "OFFER", "bob")

	once.Do(stop) // returns once its Cluster has shut down: no more refreshes
	start := time.Now()
	ann.expect(t, "LEAVE", "bob")
	elapsed := time.Since(start)
	t.Logf("the stopped node's peer's partner got LEAVE %v after the shutdown", elapsed)
	if bound := pjIDTTL + pjRefresh + time.Second; elapsed > bound {
		t.Errorf("LEAVE came %v after the shutdown, beyond the stated %v", elapsed, bound)
	}
}

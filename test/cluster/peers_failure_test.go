package cluster

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/testutil"
)

// TestRedisRestartPeers: Redis is killed and restarted under two Go nodes
// with /signal and /peerjs peers on each. While it is down the nodes are not
// ready, a signaling relay to the other node is answered with an internal
// error (the socket stays open) while one to a peer on the same node is
// delivered, and a new PeerJS peer is served by its node alone. After
// the restart each node puts its signaling members and PeerJS ids back,
// and frames cross nodes again both ways.
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
	solo := dialPeerJS(t, n1.url, "solo", "t3")
	solo.expect(t, "OPEN", "")

	startRedis()
	waitFor(t, "nodes ready", 15*time.Second, func() bool { return n1.cl.Ready() && n2.cl.Ready() })
	ctx := context.Background()
	waitFor(t, "members and ids back in Redis", 15*time.Second, func() bool {
		m := rdb.HGetAll(ctx, "socket.io-signal:room:call").Val()
		return m[a.id] != "" && m[b.id] != "" && rdb.Exists(ctx, "socket.io-peerjs:id:ann", "socket.io-peerjs:id:bob", "socket.io-peerjs:id:solo").Val() == 3
	})
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

// TestPeerJSNodeKilled: a node with a PeerJS peer is killed with SIGKILL.
// Once Redis has seen the node's connections close, frames for that peer
// come back to their sender as EXPIRE (nobody
// receives them), and its id is free for another token once IDTTL (3 s
// here) has passed without a refresh.
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
	ann.expect(t, "EXPIRE", "vic")
	// The id is held until its claim expires; then another token gets it.
	// Bounded: one attempt per 250 ms for IDTTL plus 5 s.
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

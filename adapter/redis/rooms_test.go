package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/signaling/message"
)

// peer is a signaling client: a Peer that records frames, and its Session.
type peer struct {
	mu     sync.Mutex
	frames []map[string]any
	s      *signaling.Session
	id     string
}

func (p *peer) Send(frame []byte) error {
	var m map[string]any
	if err := json.Unmarshal(frame, &m); err != nil {
		return err
	}
	p.mu.Lock()
	p.frames = append(p.frames, m)
	p.mu.Unlock()
	return nil
}

func (p *peer) Close(error) {}

func (p *peer) find(typ string, f func(map[string]any) bool) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.frames {
		if m["type"] == typ && (f == nil || f(m)) {
			return m
		}
	}
	return nil
}

func (p *peer) wait(t *testing.T, typ string, f func(map[string]any) bool) map[string]any {
	t.Helper()
	var got map[string]any
	waitFor(t, "frame "+typ, 10*time.Second, func() bool { got = p.find(typ, f); return got != nil })
	return got
}

func (p *peer) count(typ string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.frames {
		if m["type"] == typ {
			n++
		}
	}
	return n
}

func newHub(t *testing.T, n *node, opts RoomsOptions) *signaling.Hub {
	t.Helper()
	rooms, err := n.cl.Rooms(opts)
	if err != nil {
		t.Fatal(err)
	}
	h, err := signaling.NewHub(signaling.Config{Rooms: rooms, STUNURLs: []string{}, MaxRoomSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func joinRoom(t *testing.T, h *signaling.Hub, room, name string) *peer {
	t.Helper()
	p := &peer{}
	s, err := h.Connect(p, signaling.ConnInfo{Host: "localhost", Remote: name})
	if err != nil {
		t.Fatal(err)
	}
	p.s = s
	s.Handle([]byte(fmt.Sprintf(`{"type":"join","room":%q,"name":%q}`, room, name)))
	j := p.wait(t, "joined", nil)
	p.id = j["id"].(string)
	return p
}

func peerIDs(joined map[string]any) []string {
	var out []string
	for _, p := range joined["peers"].([]any) {
		out = append(out, p.(map[string]any)["id"].(string))
	}
	return out
}

func TestSignalingAcrossNodes(t *testing.T) {
	_, nodes := cluster(t, 3)
	// Short enough for a quick test, long enough that a loaded machine does
	// not miss heartbeats of live nodes.
	fast := RoomsOptions{NodeTTL: 2 * time.Second, HeartbeatInterval: 200 * time.Millisecond}
	ha, hb, hc := newHub(t, nodes[0], fast), newHub(t, nodes[1], fast), newHub(t, nodes[2], fast)

	p1 := joinRoom(t, ha, "call", "ann")
	p2 := joinRoom(t, hb, "call", "bob")
	if ids := peerIDs(p2.find("joined", nil)); len(ids) != 1 || ids[0] != p1.id {
		t.Fatalf("bob's joined lists %v, want ann %s", ids, p1.id)
	}
	p1.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == p2.id && m["name"] == "bob" })

	// Offer, answer and candidates across nodes, with the server's "from".
	p2.s.Handle([]byte(fmt.Sprintf(`{"type":"offer","to":%q,"sdp":"v=0 offer"}`, p1.id)))
	off := p1.wait(t, "offer", nil)
	if off["from"] != p2.id || off["sdp"] != "v=0 offer" || off["to"] != nil {
		t.Fatalf("offer at ann: %v", off)
	}
	p1.s.Handle([]byte(fmt.Sprintf(`{"type":"answer","to":%q,"sdp":"v=0 answer"}`, p2.id)))
	p1.s.Handle([]byte(fmt.Sprintf(`{"type":"candidate","to":%q,"candidate":{"candidate":"c1","sdpMid":"0"}}`, p2.id)))
	if a := p2.wait(t, "answer", nil); a["from"] != p1.id {
		t.Fatalf("answer at bob: %v", a)
	}
	if c := p2.wait(t, "candidate", nil); c["from"] != p1.id || c["candidate"].(map[string]any)["candidate"] != "c1" {
		t.Fatalf("candidate at bob: %v", c)
	}
	// To a peer that is not in the room.
	p2.s.Handle([]byte(`{"type":"offer","to":"NOSUCHPEERNOSUCHPEERNOSUCHPEER12","sdp":"v=0"}`))
	p2.wait(t, "error", func(m map[string]any) bool { return m["code"] == "unknown_peer" })

	// A third peer on a third node; peers listed in join order.
	p3 := joinRoom(t, hc, "call", "cy")
	if ids := peerIDs(p3.find("joined", nil)); strings.Join(ids, ",") != p1.id+","+p2.id {
		t.Fatalf("cy's joined lists %v", ids)
	}
	p2.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == p3.id })
	// Room full (MaxRoomSize 3) across nodes.
	p4 := &peer{}
	s4, _ := ha.Connect(p4, signaling.ConnInfo{})
	s4.Handle([]byte(`{"type":"join","room":"call","name":"dan"}`))
	p4.wait(t, "error", func(m map[string]any) bool { return m["code"] == "room_full" })

	// bob leaves: everyone else hears it once.
	p2.s.Disconnect()
	for _, p := range []*peer{p1, p3} {
		p.wait(t, "peer-left", func(m map[string]any) bool { return m["id"] == p2.id })
	}

	// cy's node dies (its heartbeat stops): ann hears peer-left within
	// NodeTTL + HeartbeatInterval.
	nodes[2].cl.Shutdown(t.Context())
	start := time.Now()
	p1.wait(t, "peer-left", func(m map[string]any) bool { return m["id"] == p3.id })
	t.Logf("peer of a dead node left after %v", time.Since(start))
	if d := time.Since(start); d > fast.NodeTTL+2*fast.HeartbeatInterval+5*time.Second { // generous: a loaded machine
		t.Errorf("took %v", d)
	}
	time.Sleep(200 * time.Millisecond)
	if n := p1.count("peer-left"); n != 2 {
		t.Errorf("ann got %d peer-left, want 2", n)
	}
	if n := p1.count("peer-joined"); n != 2 {
		t.Errorf("ann got %d peer-joined, want 2", n)
	}
}

// TestSignalingJoinBeforeHeartbeat: a member that joins before its node's
// first heartbeat (or after Redis lost the node's key) is not reaped by
// another node, and the next heartbeat restores the node's other members.
func TestSignalingJoinBeforeHeartbeat(t *testing.T) {
	_, nodes := cluster(t, 2)
	slow := RoomsOptions{NodeTTL: time.Minute, HeartbeatInterval: 30 * time.Second}
	ra, err := nodes[0].cl.Rooms(slow)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := nodes[1].cl.Rooms(slow)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, "first heartbeat", 5*time.Second, func() bool {
		return nodes[0].rdb.Exists(ctx, ra.nodeKey(nodes[0].cl.uid)).Val() == 1
	})
	p1 := &peer{}
	welcome := func([]message.Peer) []byte { return []byte(`{"type":"joined"}`) }
	if err := joinWait(ra, "r", signaling.Member{ID: "P1", Name: "one", Peer: p1}, welcome, []byte(`{"type":"peer-joined","id":"P1"}`)); err != nil {
		t.Fatal(err)
	}
	// Redis loses node A's key and membership (as after a restart).
	nodes[0].rdb.Del(ctx, ra.nodeKey(nodes[0].cl.uid), ra.roomKey("r"))
	p2 := &peer{}
	if err := joinWait(ra, "r", signaling.Member{ID: "P2", Name: "two", Peer: p2}, welcome, []byte(`{"type":"peer-joined","id":"P2"}`)); err != nil {
		t.Fatal(err)
	}
	rb.reap(ctx)
	if nodes[0].rdb.HExists(ctx, ra.roomKey("r"), "P2").Val() != true {
		t.Fatal("a member that joined before its node's heartbeat was reaped")
	}
	ra.beat() // announces the members again, through the runner
	waitFor(t, "the heartbeat restores the member Redis lost", 5*time.Second, func() bool {
		return nodes[0].rdb.HExists(ctx, ra.roomKey("r"), "P1").Val()
	})
	if p1.count("peer-left") != 0 {
		t.Fatal("a live member was announced as left")
	}

	// P2 leaves while Redis is unreachable (only the local part happens):
	// the next heartbeat removes it from Redis and announces it.
	ra.forget("r", "P2", nil)
	ra.beat()
	if nodes[0].rdb.HExists(ctx, ra.roomKey("r"), "P2").Val() {
		t.Fatal("a member that left while Redis was down stays in Redis")
	}
	p1.wait(t, "peer-left", func(m map[string]any) bool { return m["id"] == "P2" })
}

// joinWait joins and waits for the result.
func joinWait(r *Rooms, room string, m signaling.Member, welcome func([]message.Peer) []byte, announce []byte) error {
	ch := make(chan error, 1)
	r.Join(room, m, 0, welcome, announce, func(err error) { ch <- err })
	return <-ch
}

// TestSignalingRedisRestart: while Redis is down, a join is served by its
// node alone (its welcome lists the room's members on that node, they get
// its peer-joined, relays between them work) and a relay to another node
// fails with an error; once Redis is back, the heartbeat announces the
// members again, so peers on different nodes that joined meanwhile find
// each other, each told once, and relay across nodes.
func TestSignalingRedisRestart(t *testing.T) {
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rs := startRedisOn(t, port)
	opts := Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	a, b := newNode(t, addr, opts), newNode(t, addr, opts)
	waitCount(t, []*node{a, b}, 2)
	fast := RoomsOptions{NodeTTL: 2 * time.Second, HeartbeatInterval: 200 * time.Millisecond}
	hub := func(n *node) *signaling.Hub {
		rooms, err := n.cl.Rooms(fast)
		if err != nil {
			t.Fatal(err)
		}
		h, err := signaling.NewHub(signaling.Config{Rooms: rooms, STUNURLs: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
		return h
	}
	ha, hb := hub(a), hub(b)
	// A room that has seen many events: after the restart its counter
	// starts again from zero, below ann's join.
	if err := a.rdb.IncrBy(context.Background(), "socket.io-signal:seq:call", 1000).Err(); err != nil {
		t.Fatal(err)
	}
	ann := joinRoom(t, ha, "call", "ann") // node A
	bob := joinRoom(t, hb, "call", "bob") // node B
	ann.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == bob.id })

	if err := syscall.Kill(-rs.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both nodes not ready", 10*time.Second, func() bool { return !a.cl.Ready() && !b.cl.Ready() })

	// cy joins on A, dan on B: each sees its node's members.
	cy := joinRoom(t, ha, "call", "cy")
	if ids := peerIDs(cy.find("joined", nil)); len(ids) != 1 || ids[0] != ann.id {
		t.Fatalf("cy's joined during the outage lists %v, want ann %s", ids, ann.id)
	}
	ann.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == cy.id && m["name"] == "cy" })
	dan := joinRoom(t, hb, "call", "dan")
	if ids := peerIDs(dan.find("joined", nil)); len(ids) != 1 || ids[0] != bob.id {
		t.Fatalf("dan's joined during the outage lists %v, want bob %s", ids, bob.id)
	}
	bob.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == dan.id })
	// Relays between two peers of one node work; to the other node, an
	// error.
	cy.s.Handle([]byte(fmt.Sprintf(`{"type":"offer","to":%q,"sdp":"v=0 local"}`, ann.id)))
	if m := ann.wait(t, "offer", nil); m["from"] != cy.id || m["sdp"] != "v=0 local" {
		t.Fatalf("local offer during the outage: %v", m)
	}
	ann.s.Handle([]byte(fmt.Sprintf(`{"type":"answer","to":%q,"sdp":"v=0 local answer"}`, cy.id)))
	if m := cy.wait(t, "answer", nil); m["from"] != ann.id {
		t.Fatalf("local answer during the outage: %v", m)
	}
	cy.s.Handle([]byte(fmt.Sprintf(`{"type":"offer","to":%q,"sdp":"v=0 remote"}`, bob.id)))
	if m := cy.wait(t, "error", nil); m["code"] != "internal" {
		t.Fatalf("relay to another node during the outage: %v", m)
	}

	startRedisOn(t, port)
	waitFor(t, "both nodes ready again", 10*time.Second, func() bool { return a.cl.Ready() && b.cl.Ready() })
	ready := time.Now()
	// Each side hears of the other node's peer that joined meanwhile.
	bob.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == cy.id && m["name"] == "cy" })
	t.Logf("a peer that joined during the outage was announced to another node %v after both were ready", time.Since(ready))
	cy.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == bob.id && m["name"] == "bob" })
	cy.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == dan.id })
	dan.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == cy.id })
	dan.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == ann.id })
	ann.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == dan.id })
	// And they relay across nodes again.
	bob.s.Handle([]byte(fmt.Sprintf(`{"type":"offer","to":%q,"sdp":"v=0 after"}`, cy.id)))
	if m := cy.wait(t, "offer", func(m map[string]any) bool { return m["sdp"] == "v=0 after" }); m["from"] != bob.id {
		t.Fatalf("offer after the restart: %v", m)
	}
	cy.s.Handle([]byte(fmt.Sprintf(`{"type":"answer","to":%q,"sdp":"v=0 after answer"}`, bob.id)))
	if m := bob.wait(t, "answer", nil); m["from"] != cy.id || m["sdp"] != "v=0 after answer" {
		t.Fatalf("answer after the restart: %v", m)
	}
	dan.s.Handle([]byte(fmt.Sprintf(`{"type":"candidate","to":%q,"candidate":{"candidate":"c9"}}`, ann.id)))
	if m := ann.wait(t, "candidate", nil); m["from"] != dan.id {
		t.Fatalf("candidate after the restart: %v", m)
	}

	// A peer that joins now, through Redis, is announced to ann, whose
	// join predates the restart (and the room's new counter).
	waitFor(t, "ann announced again", 10*time.Second, func() bool {
		return a.rdb.HExists(context.Background(), "socket.io-signal:room:call", ann.id).Val()
	})
	eve := joinRoom(t, hb, "call", "eve")
	ann.wait(t, "peer-joined", func(m map[string]any) bool { return m["id"] == eve.id })

	// A few more heartbeats (each announces nothing new), then: every peer
	// was told of each other one exactly once, never of itself, and of
	// nobody leaving.
	time.Sleep(5 * fast.HeartbeatInterval)
	peers := map[string]*peer{"ann": ann, "bob": bob, "cy": cy, "dan": dan}
	for name, p := range peers {
		seen := map[string]int{}
		for _, id := range peerIDs(p.find("joined", nil)) {
			seen[id]++
		}
		p.mu.Lock()
		for _, m := range p.frames {
			if m["type"] == "peer-joined" {
				seen[m["id"].(string)]++
			}
		}
		p.mu.Unlock()
		for other, q := range peers {
			want := 1
			if q == p {
				want = 0
			}
			if seen[q.id] != want {
				t.Errorf("%s was told of %s %d times, want %d", name, other, seen[q.id], want)
			}
		}
		if n := p.count("peer-left"); n != 0 {
			t.Errorf("%s got %d peer-left", name, n)
		}
	}

	// A leave now reaches both nodes once.
	dan.s.Disconnect()
	for _, p := range []*peer{ann, bob, cy} {
		p.wait(t, "peer-left", func(m map[string]any) bool { return m["id"] == dan.id })
	}
}

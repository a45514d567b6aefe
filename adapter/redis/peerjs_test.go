package redisadapter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/peerjs"
)

// recInbox records what a PeerJS directory hands its server.
type recInbox struct {
	mu        sync.Mutex
	delivered []string // "src>dst TYPE frame"
	lost      []string
	gone      []string
}

func (r *recInbox) Deliver(src, dst string, t peerjs.MessageType, frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered = append(r.delivered, src+">"+dst+" "+string(t)+" "+string(frame))
}

func (r *recInbox) Gone(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gone = append(r.gone, id)
}

func (r *recInbox) Lost(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost = append(r.lost, id)
}

func (r *recInbox) snapshot() (delivered, lost []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.delivered...), append([]string(nil), r.lost...)
}

func newPeerJS(t *testing.T, n *node, opts PeerJSOptions) (*PeerJS, *recInbox) {
	t.Helper()
	p, err := n.cl.PeerJS(opts)
	if err != nil {
		t.Fatal(err)
	}
	in := &recInbox{}
	if err := p.Attach(in); err != nil {
		t.Fatal(err)
	}
	if p.Attach(in) == nil {
		t.Fatal("a second Attach was accepted")
	}
	return p, in
}

// claim claims id and waits for the answer.
func claim(t *testing.T, p *PeerJS, id, token string) (taken bool) {
	t.Helper()
	ch := make(chan bool, 1)
	if !p.Claim(id, token, func(taken bool) { ch <- taken }) {
		t.Fatal("Claim could not try")
	}
	select {
	case taken = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to Claim")
	}
	return taken
}

func send(t *testing.T, p *PeerJS, src, dst string, frame string) (delivered bool) {
	t.Helper()
	ch := make(chan bool, 1)
	if !p.Send(src, dst, peerjs.TypeOffer, []byte(frame), func(ok bool) { ch <- ok }) {
		t.Fatal("Send could not try")
	}
	select {
	case delivered = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to Send")
	}
	return delivered
}

func TestPeerJSDirectory(t *testing.T) {
	_, nodes := cluster(t, 2)
	opts := PeerJSOptions{IDTTL: 2 * time.Second, RefreshInterval: 100 * time.Millisecond}
	p1, in1 := newPeerJS(t, nodes[0], opts)
	p2, in2 := newPeerJS(t, nodes[1], opts)
	ctx := context.Background()

	if claim(t, p1, "ann", "t1") {
		t.Fatal("a free id was taken")
	}
	if !claim(t, p2, "ann", "other") {
		t.Fatal("an id held on node 1 was given to another token on node 2")
	}
	if claim(t, p2, "bob", "t2") {
		t.Fatal("bob taken")
	}

	// Frames go to the node that holds the id, in order; an id nobody
	// holds is not delivered.
	for _, f := range []string{`{"n":1}`, `{"n":2}`} {
		if !send(t, p2, "bob", "ann", f) {
			t.Fatal("frame for ann not delivered")
		}
	}
	if send(t, p1, "ann", "nobody", `{}`) {
		t.Fatal("frame for an absent id reported delivered")
	}
	// Published before the answer; received by node 1's subscriber soon.
	var got []string
	waitFor(t, "two frames at node 1", 5*time.Second, func() bool { got, _ = in1.snapshot(); return len(got) >= 2 })
	want := []string{`bob>ann OFFER {"n":1}`, `bob>ann OFFER {"n":2}`}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("node 1 received %q, want %q", got, want)
	}
	if got, _ := in2.snapshot(); len(got) != 0 {
		t.Fatalf("node 2 received %q", got)
	}

	// The claims outlive IDTTL while refreshed, and come back after Redis
	// loses them (as after a restart).
	time.Sleep(3 * opts.IDTTL / 2)
	nodes[0].rdb.Del(ctx, p1.idKey("ann"))
	waitFor(t, "ann claimed again", 5*time.Second, func() bool {
		return nodes[0].rdb.Get(ctx, p1.idKey("ann")).Val() == nodes[0].cl.UID()+" t1"
	})

	// The same token takes the id over from another node; the first node
	// hears it has lost it at its next refresh.
	if claim(t, p2, "ann", "t1") {
		t.Fatal("same-token takeover refused")
	}
	waitFor(t, "node 1 reports ann lost", 5*time.Second, func() bool {
		_, lost := in1.snapshot()
		return len(lost) == 1 && lost[0] == "ann"
	})
	if !send(t, p1, "x", "ann", `{"n":3}`) {
		t.Fatal("frame for ann (now on node 2) not delivered")
	}
	waitFor(t, "ann's frame on node 2", 5*time.Second, func() bool {
		got, _ := in2.snapshot()
		return len(got) == 1 && got[0] == `x>ann OFFER {"n":3}`
	})

	// Release frees the id at once, only for its holder.
	p1.Release("bob") // not node 1's: no effect
	p2.Release("ann")
	waitFor(t, "ann released", 5*time.Second, func() bool { return nodes[0].rdb.Exists(ctx, p1.idKey("ann")).Val() == 0 })
	if nodes[0].rdb.Exists(ctx, p1.idKey("bob")).Val() != 1 {
		t.Fatal("another node released bob")
	}

	// A node that stops (crash) keeps its ids until IDTTL, then they are free.
	nodes[1].cl.Shutdown(ctx)
	waitFor(t, "Redis sees node 2's subscription gone", 5*time.Second, func() bool {
		return nodes[0].rdb.PubSubNumSub(ctx, p2.channel).Val()[p2.channel] == 0
	})
	if send(t, p1, "ann2", "bob", `{}`) {
		t.Fatal("frame for the id of a stopped node reported delivered")
	}
	if !claim(t, p1, "bob", "new") {
		t.Fatal("the id of a stopped node was free before IDTTL")
	}
	waitFor(t, "bob free after IDTTL", 2*opts.IDTTL+5*time.Second, func() bool {
		return nodes[0].rdb.Exists(ctx, p1.idKey("bob")).Val() == 0
	})
	if claim(t, p1, "bob", "new") {
		t.Fatal("bob still taken after IDTTL")
	}
}

// TestPeerJSUnavailable: while Redis is unreachable Claim and Send say at
// once that they cannot try, and the id claimed meanwhile is claimed in
// Redis when it returns.
func TestPeerJSUnavailable(t *testing.T) {
	addr, nodes := cluster(t, 1)
	_ = addr
	p, in := newPeerJS(t, nodes[0], PeerJSOptions{IDTTL: 3 * time.Second, RefreshInterval: 100 * time.Millisecond})
	nodes[0].cl.ready.Store(false) // as the subscriber does when Redis goes away
	if p.Claim("solo", "t", func(bool) { t.Error("callback after a refused Claim") }) {
		t.Fatal("Claim tried while not ready")
	}
	if p.Send("solo", "x", peerjs.TypeOffer, []byte(`{}`), nil) {
		t.Fatal("Send tried while not ready")
	}
	nodes[0].cl.ready.Store(true)
	ctx := context.Background()
	waitFor(t, "solo claimed by the refresher", 5*time.Second, func() bool {
		return nodes[0].rdb.Get(ctx, p.idKey("solo")).Val() == nodes[0].cl.UID()+" t"
	})
	if _, lost := in.snapshot(); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
}

// TestPeerJSTakeover: a node that takes an id over with the same token
// tells the node that held it at once, not at that node's next refresh
// (30 s here), so the old node closes its socket without telling the
// peer's partners LEAVE.
func TestPeerJSTakeover(t *testing.T) {
	_, nodes := cluster(t, 2)
	slow := PeerJSOptions{IDTTL: time.Minute, RefreshInterval: 30 * time.Second}
	p1, in1 := newPeerJS(t, nodes[0], slow)
	p2, _ := newPeerJS(t, nodes[1], slow)
	if claim(t, p1, "x", "tok") || claim(t, p1, "y", "tok") {
		t.Fatal("free ids taken")
	}
	if claim(t, p2, "x", "tok") {
		t.Fatal("same-token takeover refused")
	}
	waitFor(t, "node 1 told x is lost", 10*time.Second, func() bool {
		_, lost := in1.snapshot()
		return len(lost) == 1 && lost[0] == "x"
	})
	if !claim(t, p2, "y", "other") {
		t.Fatal("another token took y")
	}
	time.Sleep(100 * time.Millisecond) // a wrong notice would arrive by now
	if _, lost := in1.snapshot(); len(lost) != 1 {
		t.Fatalf("lost %v, want only x", lost)
	}
}

// TestPeerJSGone: an id of another node that exchanged frames with an id
// here is reported gone once no node holds it: not while its node lives,
// within IDTTL + RefreshInterval after its node stops.
func TestPeerJSGone(t *testing.T) {
	_, nodes := cluster(t, 2)
	opts := PeerJSOptions{IDTTL: time.Second, RefreshInterval: 100 * time.Millisecond}
	p1, in1 := newPeerJS(t, nodes[0], opts)
	p2, in2 := newPeerJS(t, nodes[1], opts)
	if claim(t, p1, "ann", "t1") || claim(t, p2, "bob", "t2") {
		t.Fatal("free ids taken")
	}
	if !send(t, p2, "bob", "ann", `{"n":1}`) || !send(t, p1, "ann", "bob", `{"n":2}`) {
		t.Fatal("frames not delivered")
	}
	gone := func(in *recInbox) []string {
		in.mu.Lock()
		defer in.mu.Unlock()
		return append([]string(nil), in.gone...)
	}
	time.Sleep(3 * opts.IDTTL) // both alive: nothing is gone
	if g1, g2 := gone(in1), gone(in2); len(g1)+len(g2) != 0 {
		t.Fatalf("reported gone while alive: %v %v", g1, g2)
	}

	nodes[1].cl.Shutdown(context.Background()) // its refresher stops, as when it is killed
	start := time.Now()
	waitFor(t, "bob reported gone", opts.IDTTL+opts.RefreshInterval+5*time.Second, func() bool {
		g := gone(in1)
		return len(g) == 1 && g[0] == "bob"
	})
	t.Logf("gone after %v", time.Since(start))
	if d := time.Since(start); d < opts.IDTTL-opts.RefreshInterval {
		t.Errorf("reported gone %v after its node stopped, before its id expired", d)
	}
}

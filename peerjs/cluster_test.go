package peerjs

import (
	"strings"
	"testing"
	"time"
)

// fakeNet is an in-memory cluster of realms: a directory of ids and a queue
// of operations that the test runs with flush, so that callbacks come later
// and in order, as the Cluster contract says.
type fakeNet struct {
	owner map[string]*fakeCluster // id → holder
	token map[string]string
	ops   []func()
	down  bool
}

type fakeCluster struct {
	net *fakeNet
	in  Inbox
}

func (n *fakeNet) flush() {
	for len(n.ops) > 0 {
		op := n.ops[0]
		n.ops = n.ops[1:]
		op()
	}
}

func (c *fakeCluster) Attach(in Inbox) error { c.in = in; return nil }

func (c *fakeCluster) Claim(id, token string, done func(bool)) bool {
	if c.net.down {
		return false
	}
	c.net.ops = append(c.net.ops, func() {
		if o := c.net.owner[id]; o != nil && c.net.token[id] != token {
			done(true)
			return
		}
		c.net.owner[id], c.net.token[id] = c, token
		done(false)
	})
	return true
}

func (c *fakeCluster) Release(id string) {
	c.net.ops = append(c.net.ops, func() {
		if c.net.owner[id] == c {
			delete(c.net.owner, id)
			delete(c.net.token, id)
		}
	})
}

func (c *fakeCluster) Send(src, dst string, t MessageType, frame []byte, done func(bool)) bool {
	if c.net.down {
		return false
	}
	c.net.ops = append(c.net.ops, func() {
		o := c.net.owner[dst]
		if o != nil {
			o.in.Deliver(src, dst, t, frame)
		}
		if done != nil {
			done(o != nil)
		}
	})
	return true
}

// twoNodes returns two realms joined by a fakeNet, sharing one clock.
func twoNodes(t *testing.T, cfg Config) (*fakeNet, *realmTest, *realmTest) {
	n := &fakeNet{owner: map[string]*fakeCluster{}, token: map[string]string{}}
	var rts [2]*realmTest
	for i := range rts {
		c := &fakeCluster{net: n}
		cfg.Cluster = c
		rts[i] = newRealmTest(t, cfg)
		if err := c.Attach(inbox{rts[i].r}); err != nil {
			t.Fatal(err)
		}
	}
	rts[1].now = rts[0].now
	return n, rts[0], rts[1]
}

func TestClusterRelay(t *testing.T) {
	n, ra, rb := twoNodes(t, Config{LeaveGrace: time.Second, ExpireTimeout: 5 * time.Second})
	a := ra.open("a", "ta")
	a.send(`{"type":"HEARTBEAT"}`)
	a.send(`{"type":"OFFER","dst":"b","payload":{"early":1}}`) // before OPEN: kept
	expectFrames(t, a.c)                                       // no OPEN until the claim is answered
	n.flush()
	expectFrames(t, a.c, open)
	b := rb.open("b", "tb")
	n.flush()
	expectFrames(t, b.c, open)
	n.flush() // the early offer found nobody; it waits in a's queue for b
	rb.advance(0)
	ra.advance(200 * time.Millisecond) // the sweep offers the queue to the cluster again
	n.flush()
	expectFrames(t, b.c, `{"type":"OFFER","src":"a","dst":"b","payload":{"early":1}}`)

	// Both ways, in order.
	b.send(`{"type":"ANSWER","dst":"a","payload":{"n":1}}`)
	b.send(`{"type":"CANDIDATE","dst":"a","payload":{"n":2}}`)
	a.send(`{"type":"CANDIDATE","dst":"b","payload":{"n":3}}`)
	n.flush()
	expectFrames(t, a.c, `{"type":"ANSWER","src":"b","dst":"a","payload":{"n":1}}`, `{"type":"CANDIDATE","src":"b","dst":"a","payload":{"n":2}}`)
	expectFrames(t, b.c, `{"type":"CANDIDATE","src":"a","dst":"b","payload":{"n":3}}`)

	// The id is taken across nodes with another token; the same token takes over.
	thief := rb.open("a", "other")
	n.flush()
	expectFrames(t, thief.c, `{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}`)
	if !thief.c.closed || rb.r.clients["a"] != nil {
		t.Fatal("ID-TAKEN socket kept")
	}

	// An id nobody holds: EXPIRE after ExpireTimeout, once.
	a.send(`{"type":"OFFER","dst":"nobody","payload":{}}`)
	n.flush()
	ra.advance(4 * time.Second)
	n.flush()
	expectFrames(t, a.c)
	ra.advance(time.Second)
	n.flush()
	expectFrames(t, a.c, `{"type":"EXPIRE","src":"nobody","dst":"a"}`)

	// b leaves: after the grace, its partner on the other node gets LEAVE,
	// and the id is free in the cluster.
	// A frame a sends meanwhile waits on b's node, which answers EXPIRE
	// across the cluster when b does not come back.
	b.close()
	a.send(`{"type":"CANDIDATE","dst":"b","payload":{}}`)
	n.flush()
	rb.advance(time.Second)
	n.flush()
	expectFrames(t, a.c, `{"type":"LEAVE","src":"b","dst":"a"}`)
	if n.owner["b"] != nil {
		t.Fatal("b's id not released")
	}
	rb.advance(4 * time.Second)
	n.flush()
	expectFrames(t, a.c, `{"type":"EXPIRE","src":"b","dst":"a"}`)
}

func TestClusterDownAndLost(t *testing.T) {
	n, ra, rb := twoNodes(t, Config{})
	n.down = true
	// Unreachable: each node serves the id on its own at once.
	a := ra.open("x", "t1")
	expectFrames(t, a.c, open)
	a.send(`{"type":"OFFER","dst":"y","payload":{}}`) // queued locally
	n.down = false
	b := rb.open("x", "t2")
	n.flush()
	expectFrames(t, b.c, open) // the first claim that reaches the cluster wins
	// The Cluster finds that another node holds a's id: a is closed,
	// without LEAVE to anybody.
	ra.r.lost("x")
	if !a.c.closed || ra.r.clients["x"] != nil || ra.r.connected != 0 {
		t.Fatal("lost id kept")
	}
	a.close()
	if got := strings.Join(b.c.take(), ""); got != "" {
		t.Fatalf("b got %s", got)
	}
}

// TestClusterGone: when the Cluster reports a partner on another node gone
// (its node died), the partners here get LEAVE once: a LEAVE from its node
// that comes too is not sent again, nor one for a peer that was no partner.
func TestClusterGone(t *testing.T) {
	n, ra, rb := twoNodes(t, Config{})
	a := ra.open("a", "ta")
	c := ra.open("c", "tc") // no partner of b
	b := rb.open("b", "tb")
	n.flush()
	expectFrames(t, a.c, open)
	expectFrames(t, c.c, open)
	expectFrames(t, b.c, open)
	b.send(`{"type":"OFFER","dst":"a","payload":{}}`)
	n.flush()
	expectFrames(t, a.c, `{"type":"OFFER","src":"b","dst":"a","payload":{}}`)

	ra.r.gone("b")
	expectFrames(t, a.c, `{"type":"LEAVE","src":"b","dst":"a"}`)
	expectFrames(t, c.c)
	inbox{ra.r}.Deliver("b", "a", TypeLeave, []byte(`{"type":"LEAVE","src":"b","dst":"a"}`))
	inbox{ra.r}.Gone("b")
	expectFrames(t, a.c)

	// With NoLeave, nothing.
	n2, rc, rd := twoNodes(t, Config{NoLeave: true})
	x := rc.open("x", "tx")
	y := rd.open("y", "ty")
	n2.flush()
	expectFrames(t, x.c, open)
	expectFrames(t, y.c, open)
	y.send(`{"type":"OFFER","dst":"x","payload":{}}`)
	n2.flush()
	expectFrames(t, x.c, `{"type":"OFFER","src":"y","dst":"x","payload":{}}`)
	rc.r.gone("y")
	expectFrames(t, x.c)
}

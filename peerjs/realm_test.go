package peerjs

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeConn struct {
	mu     sync.Mutex
	frames []string
	closed bool
}

func (c *fakeConn) Send(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, string(b))
	return nil
}

func (c *fakeConn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

// take returns and clears the frames sent so far.
func (c *fakeConn) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.frames
	c.frames = nil
	return f
}

type realmTest struct {
	t   *testing.T
	r   *realm
	now time.Time
}

func newRealmTest(t *testing.T, cfg Config) *realmTest {
	rt := &realmTest{t: t, now: time.Unix(1_700_000_000, 0)}
	cfg.Now = func() time.Time { return rt.now }
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rt.r = newRealm(&cfg)
	return rt
}

type peer struct {
	rt *realmTest
	c  *fakeConn
	cl *client
}

func (rt *realmTest) open(id, token string) peer {
	rt.t.Helper()
	c := &fakeConn{}
	cl := rt.r.open(c, "peerjs", id, token, rt.now)
	return peer{rt, c, cl}
}

func (p peer) send(format string, args ...any) {
	p.rt.r.handle(p.cl, p.c, fmt.Appendf(nil, format, args...), p.rt.now)
}

func (p peer) close() { p.rt.r.closed(p.cl, p.c, p.rt.now) }

func (rt *realmTest) advance(d time.Duration) {
	rt.now = rt.now.Add(d)
	rt.r.sweep(rt.now)
}

func expectFrames(t *testing.T, c *fakeConn, want ...string) {
	t.Helper()
	got := c.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("frames\n got %q\nwant %q", got, want)
	}
}

const open = `{"type":"OPEN"}`

func TestOpenRefusals(t *testing.T) {
	rt := newRealmTest(t, Config{ConcurrentLimit: 2})
	for _, tt := range []struct{ key, id, token, want string }{
		{"", "a", "t", `{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}`},
		{"peerjs", "", "t", `{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}`},
		{"peerjs", "a", "", `{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}`},
		{"other", "a", "t", `{"type":"ERROR","payload":{"msg":"Invalid key provided"}}`},
		{"peerjs", "a b!", "t", `{"type":"ERROR","payload":{"msg":"Invalid id provided"}}`},
		{"peerjs", "-a", "t", `{"type":"ERROR","payload":{"msg":"Invalid id provided"}}`},
		{"peerjs", strings.Repeat("a", 65), "t", `{"type":"ERROR","payload":{"msg":"Invalid id provided"}}`},
		{"peerjs", "a", "t\x00", `{"type":"ERROR","payload":{"msg":"No id, token, or key supplied to websocket server"}}`},
	} {
		c := &fakeConn{}
		if cl := rt.r.open(c, tt.key, tt.id, tt.token, rt.now); cl != nil {
			t.Fatalf("open(%q,%q,%q) accepted", tt.key, tt.id, tt.token)
		}
		expectFrames(t, c, tt.want)
		if !c.closed {
			t.Fatal("refused socket not closed")
		}
	}
	a := rt.open("a", "t1")
	expectFrames(t, a.c, open)
	taken := rt.open("a", "other")
	if taken.cl != nil || !taken.c.closed {
		t.Fatal("id taken with another token")
	}
	expectFrames(t, taken.c, `{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}`)
	rt.open("b b", "t")
	full := rt.open("c", "t")
	if full.cl != nil {
		t.Fatal("over the limit")
	}
	expectFrames(t, full.c, `{"type":"ERROR","payload":{"msg":"Server has reached its concurrent user limit"}}`)

	// The same token takes the id over; the old socket is closed and ignored.
	a2 := rt.open("a", "t1")
	expectFrames(t, a2.c, open)
	if !a.c.closed || a2.c.closed {
		t.Fatal("takeover did not close the old socket")
	}
	a.send(`{"type":"OFFER","dst":"b b","payload":{}}`)
	a.close()
	if got := rt.r.ids(); len(got) != 2 {
		t.Fatalf("ids = %v", got)
	}
}

func TestRelayAndSpoofing(t *testing.T) {
	rt := newRealmTest(t, Config{})
	a, b, c := rt.open("a", "ta"), rt.open("b", "tb"), rt.open("c", "tc")
	for _, p := range []peer{a, b, c} {
		p.c.take()
	}
	a.send(`{"type":"OFFER","dst":"b","payload":{"sdp":{"type":"offer","sdp":"v=0"},"type":"data","connectionId":"dc_1"}}`)
	expectFrames(t, b.c, `{"type":"OFFER","src":"a","dst":"b","payload":{"sdp":{"type":"offer","sdp":"v=0"},"type":"data","connectionId":"dc_1"}}`)
	// src is the server's: a claims to be c.
	a.send(`{"type":"ANSWER","src":"c","dst":"b","payload":{"x":1},"extra":"dropped"}`)
	expectFrames(t, b.c, `{"type":"ANSWER","src":"a","dst":"b","payload":{"x":1}}`)
	b.send(`{"type":"CANDIDATE","dst":"a","payload":{"candidate":{}}}`)
	expectFrames(t, a.c, `{"type":"CANDIDATE","src":"b","dst":"a","payload":{"candidate":{}}}`)
	// Clients cannot send EXPIRE, OPEN, ERROR …; malformed frames are dropped.
	for _, f := range []string{
		`{"type":"EXPIRE","dst":"b"}`, `{"type":"OPEN","dst":"b"}`, `{"type":"ERROR","dst":"b","payload":{"msg":"x"}}`,
		`{"type":"ID-TAKEN","dst":"b"}`, `not json`, `[]`, `{"type":1,"dst":"b"}`, `{"dst":"b"}`, `{"type":"OFFER","dst":5}`,
		`{"type":"OFFER","dst":"b c!"}`, `{"type":"OFFER"}`, `"OFFER"`, `{"type":"OFFER","dst":"b","payload":}`,
	} {
		a.send("%s", f)
	}
	expectFrames(t, b.c)
	expectFrames(t, a.c)
	if a.c.closed {
		t.Fatal("malformed frames closed the socket")
	}
	expectFrames(t, c.c) // c saw none of it
}

func TestQueueAndExpire(t *testing.T) {
	rt := newRealmTest(t, Config{ExpireTimeout: 5 * time.Second, MaxQueued: 3})
	a := rt.open("a", "ta")
	a.c.take()
	a.send(`{"type":"OFFER","dst":"late","payload":{"n":1}}`)
	a.send(`{"type":"CANDIDATE","dst":"late","payload":{"n":2}}`)
	a.send(`{"type":"LEAVE","dst":"late"}`) // not queued
	rt.advance(4 * time.Second)
	late := rt.open("late", "t")
	expectFrames(t, late.c, open,
		`{"type":"OFFER","src":"a","dst":"late","payload":{"n":1}}`,
		`{"type":"CANDIDATE","src":"a","dst":"late","payload":{"n":2}}`)
	rt.advance(10 * time.Second)
	expectFrames(t, a.c)

	for i := range 5 {
		a.send(`{"type":"OFFER","dst":"never","payload":{"n":%d}}`, i)
	}
	// The queue holds 3; the 4th and 5th are refused at once.
	expectFrames(t, a.c, `{"type":"EXPIRE","src":"never","dst":"a"}`, `{"type":"EXPIRE","src":"never","dst":"a"}`)
	rt.advance(4 * time.Second)
	expectFrames(t, a.c)
	rt.advance(time.Second)
	expectFrames(t, a.c, `{"type":"EXPIRE","src":"never","dst":"a"}`) // once per sender
	never := rt.open("never", "t")
	expectFrames(t, never.c, open)

	// One client cannot fill the server with queues for many absent ids.
	for i := range 5 {
		a.send(`{"type":"OFFER","dst":"absent%d","payload":{}}`, i)
	}
	expectFrames(t, a.c, `{"type":"EXPIRE","src":"absent3","dst":"a"}`, `{"type":"EXPIRE","src":"absent4","dst":"a"}`)
	if len(rt.r.queues) != 3 {
		t.Fatalf("%d queues kept, want 3", len(rt.r.queues))
	}
	rt.advance(5 * time.Second) // the three expire, and a may queue again
	a.c.take()
	a.send(`{"type":"OFFER","dst":"absent9","payload":{}}`)
	expectFrames(t, a.c)
}

func TestLeaveToPartners(t *testing.T) {
	rt := newRealmTest(t, Config{LeaveGrace: 3 * time.Second, AliveTimeout: 60 * time.Second})
	a, b, c, d := rt.open("a", "ta"), rt.open("b", "tb"), rt.open("c", "tc"), rt.open("d", "td")
	a.send(`{"type":"OFFER","dst":"b","payload":{}}`)
	c.send(`{"type":"OFFER","dst":"a","payload":{}}`)
	for _, p := range []peer{a, b, c, d} {
		p.c.take()
	}
	// a's socket drops; within the grace nothing happens, and the id is
	// reserved for a's token.
	a.close()
	rt.advance(2 * time.Second)
	expectFrames(t, b.c)
	if p := rt.open("a", "thief"); p.cl != nil {
		t.Fatal("reserved id taken with another token")
	}
	// a reconnects in time: no LEAVE.
	a2 := rt.open("a", "ta")
	expectFrames(t, a2.c, open)
	rt.advance(10 * time.Second)
	expectFrames(t, b.c)
	expectFrames(t, c.c)

	// This time a is gone for good: b and c (its partners) get LEAVE, d does not.
	a2.close()
	rt.advance(3 * time.Second)
	expectFrames(t, b.c, `{"type":"LEAVE","src":"a","dst":"b"}`)
	expectFrames(t, c.c, `{"type":"LEAVE","src":"a","dst":"c"}`)
	expectFrames(t, d.c)
	if p := rt.open("a", "newowner"); p.cl == nil {
		t.Fatal("id not freed after the grace")
	}

	// An explicit LEAVE without dst: closed at once, partners told at the next sweep.
	b.send(`{"type":"CANDIDATE","dst":"c","payload":{}}`)
	c.c.take()
	b.send(`{"type":"LEAVE"}`)
	if !b.c.closed {
		t.Fatal("LEAVE did not close the socket")
	}
	rt.advance(time.Millisecond)
	expectFrames(t, c.c, `{"type":"LEAVE","src":"b","dst":"c"}`)
}

func TestAliveTimeout(t *testing.T) {
	rt := newRealmTest(t, Config{AliveTimeout: 10 * time.Second, LeaveGrace: time.Second})
	a, b := rt.open("a", "ta"), rt.open("b", "tb")
	a.send(`{"type":"OFFER","dst":"b","payload":{}}`)
	b.c.take()
	for range 3 {
		rt.advance(5 * time.Second)
		b.send(`{"type":"HEARTBEAT"}`)
	}
	if !a.c.closed || b.c.closed {
		t.Fatalf("after 15 s: a closed %v (silent), b closed %v (heartbeats)", a.c.closed, b.c.closed)
	}
	a.close() // the transport reports it later; harmless
	rt.advance(time.Second)
	expectFrames(t, b.c, `{"type":"LEAVE","src":"a","dst":"b"}`)
}

func TestNoLeave(t *testing.T) {
	rt := newRealmTest(t, Config{NoLeave: true})
	a, b := rt.open("a", "ta"), rt.open("b", "tb")
	a.send(`{"type":"OFFER","dst":"b","payload":{}}`)
	b.c.take()
	a.close()
	if p := rt.open("a", "other"); p.cl == nil {
		t.Fatal("with NoLeave the id is freed at once, like the stock server")
	}
	rt.advance(time.Hour)
	expectFrames(t, b.c)
}

func TestRateLimit(t *testing.T) {
	rt := newRealmTest(t, Config{MessageRate: 1, MessageBurst: 2, MaxMessageSize: 100})
	a, b := rt.open("a", "ta"), rt.open("b", "tb")
	b.c.take()
	a.send(`{"type":"OFFER","dst":"b","payload":"%s"}`, strings.Repeat("x", 100)) // too large: dropped, uses a token
	for i := range 3 {
		a.send(`{"type":"CANDIDATE","dst":"b","payload":%d}`, i)
	}
	expectFrames(t, b.c, `{"type":"CANDIDATE","src":"a","dst":"b","payload":0}`)
	rt.now = rt.now.Add(time.Second)
	a.send(`{"type":"CANDIDATE","dst":"b","payload":9}`)
	expectFrames(t, b.c, `{"type":"CANDIDATE","src":"a","dst":"b","payload":9}`)
}

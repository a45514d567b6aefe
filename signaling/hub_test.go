package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/signaling/message"
)

// fakePeer records what the hub sends; it refuses frames beyond limit
// (when set), like a transport with a full queue.
type fakePeer struct {
	mu     sync.Mutex
	frames [][]byte
	limit  int
	closed error
}

func (p *fakePeer) Send(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limit > 0 && len(p.frames) >= p.limit {
		return errors.New("queue full")
	}
	p.frames = append(p.frames, append([]byte(nil), b...))
	return nil
}

func (p *fakePeer) Close(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed == nil {
		p.closed = err
	}
}

// frame is a decoded server frame.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }

// next pops the oldest frame sent to p.
func (p *fakePeer) next(t *testing.T) frame {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.frames) == 0 {
		t.Fatalf("no frame sent")
	}
	raw := p.frames[0]
	p.frames = p.frames[1:]
	var f frame
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("server sent invalid JSON %q: %v", raw, err)
	}
	f["_raw"] = string(raw)
	return f
}

func (p *fakePeer) empty(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.frames) > 0 {
		t.Fatalf("unexpected frames: %q", p.frames)
	}
}

// expectError pops a frame and checks it is an error with code.
func (p *fakePeer) expectError(t *testing.T, code message.Code) {
	t.Helper()
	f := p.next(t)
	if f.str("type") != "error" || f.str("code") != string(code) || f.str("message") == "" {
		t.Fatalf("got %s, want error %s", f["_raw"], code)
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newHub(t *testing.T, cfg Config) (*Hub, *clock) {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	if cfg.Now == nil {
		cfg.Now = c.now
	}
	cfg.Logger = quiet
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

type client struct {
	*fakePeer
	s *Session
}

func connect(t *testing.T, h *Hub) client {
	t.Helper()
	p := &fakePeer{}
	s, err := h.Connect(p, ConnInfo{Host: "example.test:8080", Remote: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	return client{p, s}
}

func (c client) send(format string, args ...any) { c.s.Handle(fmt.Appendf(nil, format, args...)) }

// join makes c join room and returns its joined frame.
func (c client) join(t *testing.T, room, name string) frame {
	t.Helper()
	c.send(`{"type":"join","room":%q,"name":%q}`, room, name)
	f := c.next(t)
	if f.str("type") != "joined" {
		t.Fatalf("join: got %s", f["_raw"])
	}
	return f
}

func peersOf(f frame) []string {
	var ids []string
	for _, p := range f["peers"].([]any) {
		m := p.(map[string]any)
		ids = append(ids, m["id"].(string)+"/"+m["name"].(string))
	}
	return ids
}

func TestJoinAnnounceLeave(t *testing.T) {
	h, _ := newHub(t, Config{})
	a, b, c := connect(t, h), connect(t, h), connect(t, h)

	ja := a.join(t, "r", "Ann")
	idA := ja.str("id")
	if !message.ValidID(idA) || len(idA) < 20 || ja.str("room") != "r" || len(peersOf(ja)) != 0 {
		t.Fatalf("joined: %s", ja["_raw"])
	}
	jb := b.join(t, "r", "Bob")
	idB := jb.str("id")
	if got := strings.Join(peersOf(jb), ","); got != idA+"/Ann" {
		t.Fatalf("Bob's peers = %s", got)
	}
	if f := a.next(t); f["_raw"] != fmt.Sprintf(`{"type":"peer-joined","id":%q,"name":"Bob"}`, idB) {
		t.Fatalf("Ann got %s", f["_raw"])
	}
	jc := c.join(t, "r", "Cy")
	idC := jc.str("id")
	if got := strings.Join(peersOf(jc), ","); got != idA+"/Ann,"+idB+"/Bob" {
		t.Fatalf("Cy's peers = %s", got)
	}
	for _, p := range []client{a, b} {
		if f := p.next(t); f.str("type") != "peer-joined" || f.str("id") != idC {
			t.Fatalf("got %s", f["_raw"])
		}
	}
	if idA == idB || idB == idC {
		t.Fatal("ids repeat")
	}

	b.send(`{"type":"leave"}`)
	b.empty(t) // leave has no answer
	for _, p := range []client{a, c} {
		if f := p.next(t); f["_raw"] != fmt.Sprintf(`{"type":"peer-left","id":%q}`, idB) {
			t.Fatalf("got %s", f["_raw"])
		}
	}
	b.send(`{"type":"leave"}`)
	b.expectError(t, message.CodeNotJoined)

	// Rejoining gives a new id; the others see it as a new peer.
	jb2 := b.join(t, "r", "Bob")
	if jb2.str("id") == idB || len(peersOf(jb2)) != 2 {
		t.Fatalf("rejoin: %s", jb2["_raw"])
	}
	a.next(t)
	c.next(t)

	// Closing the connection has the same effect as leave.
	c.s.Disconnect()
	c.s.Disconnect()
	for _, p := range []client{a, b} {
		if f := p.next(t); f.str("type") != "peer-left" || f.str("id") != idC {
			t.Fatalf("got %s", f["_raw"])
		}
	}
	a.empty(t)
	b.empty(t)
	if h.Len() != 2 {
		t.Fatalf("Len = %d", h.Len())
	}
	st := h.Stats()
	if st.Sessions != 2 || st.Joins != 4 || st.Leaves != 2 || st.Relayed != 0 || st.Errors[message.CodeNotJoined] != 1 || len(st.Errors) != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestRelay(t *testing.T) {
	h, _ := newHub(t, Config{})
	a, b, c, other := connect(t, h), connect(t, h), connect(t, h), connect(t, h)
	idA := a.join(t, "r", "A").str("id")
	idB := b.join(t, "r", "B").str("id")
	idC := c.join(t, "r", "C").str("id")
	idO := other.join(t, "elsewhere", "O").str("id")
	a.next(t)
	a.next(t)
	b.next(t)

	c.send(`{"type":"offer","to":%q,"sdp":"v=0\r\n","x-extra":{"k":[1,2]}}`, idA)
	if f := a.next(t); f["_raw"] != fmt.Sprintf(`{"type":"offer","from":%q,"sdp":"v=0\r\n","x-extra":{"k":[1,2]}}`, idC) {
		t.Fatalf("relayed offer = %s", f["_raw"])
	}
	a.send(`{"to":%q,"type":"answer","sdp":"v=0"}`, idC)
	if f := c.next(t); f["_raw"] != fmt.Sprintf(`{"from":%q,"type":"answer","sdp":"v=0"}`, idA) {
		t.Fatalf("relayed answer = %s", f["_raw"])
	}
	a.send(`{"type":"candidate","to":%q,"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}`, idC)
	if f := c.next(t); f.str("from") != idA || f["candidate"].(map[string]any)["sdpMid"] != "0" {
		t.Fatalf("relayed candidate = %s", f["_raw"])
	}
	// Only the addressee receives it.
	b.empty(t)
	other.empty(t)

	// Spoofing and misdirection.
	a.send(`{"type":"offer","to":%q,"from":%q,"sdp":"v=0"}`, idC, idB)
	a.expectError(t, message.CodeBadRequest)
	a.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idO) // a peer in another room
	a.expectError(t, message.CodeUnknownPeer)
	a.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idA) // itself
	a.expectError(t, message.CodeUnknownPeer)
	a.send(`{"type":"offer","to":"NOSUCHPEER","sdp":"v=0"}`)
	a.expectError(t, message.CodeUnknownPeer)
	a.send(`{"type":"offer","to":%q,"to":%q,"sdp":"v=0"}`, idC, idB)
	a.expectError(t, message.CodeBadRequest)
	other.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idA)
	other.expectError(t, message.CodeUnknownPeer)
	b.empty(t)
	c.empty(t)

	// A peer that left cannot be reached, and cannot send.
	b.send(`{"type":"leave"}`)
	a.next(t)
	c.next(t)
	a.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idB)
	a.expectError(t, message.CodeUnknownPeer)
	b.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idA)
	b.expectError(t, message.CodeNotJoined)
	a.empty(t)

	// The socket stays open after errors.
	if a.closed != nil || b.closed != nil {
		t.Fatalf("closed after a few errors: %v %v", a.closed, b.closed)
	}
}

func TestErrorCodes(t *testing.T) {
	h, _ := newHub(t, Config{MaxRoomSize: 2, MaxMessageSize: 200, MaxErrors: 100})
	a, b, c := connect(t, h), connect(t, h), connect(t, h)
	for _, tt := range []struct {
		frame string
		code  message.Code
	}{
		{`{"type":"join"`, message.CodeBadJSON},
		{`not json`, message.CodeBadJSON},
		{`[1]`, message.CodeBadRequest},
		{`{"type":"join"}`, message.CodeBadRequest},
		{`{"type":"join","room":1}`, message.CodeBadRequest},
		{`{"type":"hello"}`, message.CodeUnknownType},
		{`{"type":"peer-joined","id":"x"}`, message.CodeUnknownType},
		{`{"type":"leave"}`, message.CodeNotJoined},
		{`{"type":"offer","to":"x","sdp":"v=0"}`, message.CodeNotJoined},
		{`{"type":"candidate","to":"x","candidate":{}}`, message.CodeNotJoined},
		{`{"type":"join","room":"` + strings.Repeat("r", 200) + `"}`, message.CodeTooLarge},
	} {
		a.send("%s", tt.frame)
		a.expectError(t, tt.code)
	}
	a.join(t, "r", "a")
	a.send(`{"type":"join","room":"s"}`)
	a.expectError(t, message.CodeAlreadyJoined)
	b.join(t, "r", "b")
	c.send(`{"type":"join","room":"r"}`)
	c.expectError(t, message.CodeRoomFull)
	c.join(t, "s", "c") // other rooms are not affected
	b.s.Disconnect()
	a.next(t) // peer-joined b
	a.next(t) // peer-left b
	c.send(`{"type":"leave"}`)
	c.join(t, "r", "c") // room r has space again
	if a.closed != nil || c.closed != nil {
		t.Fatal("closed")
	}
}

func TestRateLimitAndAbuse(t *testing.T) {
	h, clk := newHub(t, Config{MessageRate: 2, MessageBurst: 3, MaxErrors: 3})
	a, b := connect(t, h), connect(t, h)
	idA := a.join(t, "r", "a").str("id") // 1 token used
	b.join(t, "r", "b")
	a.next(t)
	offer := func() { b.send(`{"type":"offer","to":%q,"sdp":"v=0"}`, idA) }
	offer()
	offer()
	a.next(t)
	a.next(t)
	offer() // burst of 3 exhausted
	b.expectError(t, message.CodeRateLimited)
	a.empty(t)
	clk.add(500 * time.Millisecond) // one token back
	offer()
	a.next(t)
	offer()
	b.expectError(t, message.CodeRateLimited)
	if b.closed != nil {
		t.Fatal("closed after 2 errors")
	}
	offer() // third error: the budget of 3 is gone, but this one still fits
	b.expectError(t, message.CodeRateLimited)
	offer() // the abuse continues
	b.expectError(t, message.CodeRateLimited)
	if b.closed == nil || message.CodeOf(b.closed) != message.CodeRateLimited {
		t.Fatalf("closed = %v, want a disconnect for rate_limited", b.closed)
	}
	if st := h.Stats(); st.Disconnected != 1 || st.Errors[message.CodeRateLimited] != 4 || st.Relayed != 3 {
		t.Fatalf("Stats = %+v", st)
	}
	clk.add(time.Hour)
	offer() // ignored while the transport closes
	b.empty(t)
	a.empty(t)
	b.s.Disconnect()
	if f := a.next(t); f.str("type") != "peer-left" {
		t.Fatalf("got %s", f["_raw"])
	}
}

func TestSlowPeerDoesNotStallRoom(t *testing.T) {
	h, _ := newHub(t, Config{})
	slow := client{&fakePeer{limit: 1}, nil}
	var err error
	if slow.s, err = h.Connect(slow.fakePeer, ConnInfo{}); err != nil {
		t.Fatal(err)
	}
	slow.join(t, "r", "slow") // its queue now holds nothing; next frame fills it
	a := connect(t, h)
	a.join(t, "r", "a")
	b := connect(t, h)
	jb := b.join(t, "r", "b") // peer-joined b does not fit into slow's queue
	if len(peersOf(jb)) != 2 {
		t.Fatal(jb["_raw"])
	}
	if f := a.next(t); f.str("type") != "peer-joined" {
		t.Fatal(f["_raw"])
	}
}

func TestClose(t *testing.T) {
	h, _ := newHub(t, Config{})
	a, b := connect(t, h), connect(t, h)
	a.join(t, "r", "a")
	h.Close()
	h.Close()
	if !errors.Is(a.closed, ErrShutdown) || !errors.Is(b.closed, ErrShutdown) {
		t.Fatalf("closed with %v, %v", a.closed, b.closed)
	}
	if _, err := h.Connect(&fakePeer{}, ConnInfo{}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Connect after Close: %v", err)
	}
	select {
	case <-h.Drained():
		t.Fatal("drained with sessions left")
	default:
	}
	a.s.Disconnect()
	b.s.Disconnect()
	select {
	case <-h.Drained():
	default:
		t.Fatal("not drained")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{MaxRoomSize: -1}, {MessageRate: -1}, {STUNURLs: []string{"http://x"}}, {TURNURLs: []string{"stun:x"}}, {TURNTTL: -time.Second},
	} {
		if _, err := NewHub(cfg); err == nil {
			t.Errorf("NewHub(%+v) accepted", cfg)
		}
	}
}

// TestConcurrentViews joins, relays and leaves from many goroutines in a few
// rooms and checks that every peer's view (joined + peer-joined −
// peer-left) matches the room's real membership at the end.
func TestConcurrentViews(t *testing.T) {
	h, _ := newHub(t, Config{MaxRoomSize: 100, MessageBurst: 1000})
	const rooms, perRoom = 4, 12
	clients := make([]client, rooms*perRoom)
	for i := range clients {
		clients[i] = connect(t, h)
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c := clients[i]
			room := fmt.Sprint("room", i%rooms)
			c.send(`{"type":"join","room":%q,"name":"n%d"}`, room, i)
			if i%3 == 0 {
				c.send(`{"type":"leave"}`)
				c.send(`{"type":"join","room":%q,"name":"n%d"}`, room, i)
			}
			if i%5 == 0 {
				c.s.Disconnect()
			}
		})
	}
	wg.Wait()
	for i, c := range clients {
		if c.s.gone {
			continue
		}
		view := map[string]bool{}
		for len(c.frames) > 0 {
			f := c.next(t)
			switch f.str("type") {
			case "joined":
				clear(view)
				for _, p := range f["peers"].([]any) {
					view[p.(map[string]any)["id"].(string)] = true
				}
			case "peer-joined":
				if view[f.str("id")] {
					t.Fatalf("client %d: duplicate peer-joined %s", i, f.str("id"))
				}
				view[f.str("id")] = true
			case "peer-left":
				if !view[f.str("id")] {
					t.Fatalf("client %d: peer-left for unknown %s", i, f.str("id"))
				}
				delete(view, f.str("id"))
			}
		}
		want := map[string]bool{}
		for j, o := range clients {
			if j != i && j%rooms == i%rooms && !o.s.gone {
				want[o.s.ID()] = true
			}
		}
		if fmt.Sprint(view) != fmt.Sprint(want) {
			t.Fatalf("client %d sees %v, room holds %v", i, view, want)
		}
	}
	if r, m := h.cfg.Rooms.(*MemoryRooms).Stats(); r != rooms || m != len(clients)-(len(clients)+4)/5 {
		t.Fatalf("Stats = %d rooms, %d members", r, m)
	}
}

package redisadapter

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

func socket(t *testing.T, n *node, c *client) *socketio.Socket {
	t.Helper()
	s, ok := n.nsp().Socket(c.sid)
	if !ok {
		t.Fatalf("socket %s not on its node", c.sid)
	}
	return s
}

// sentinel broadcasts from n and waits until every client got it: Redis
// delivers one publisher's messages to one subscriber in order, so whatever
// n broadcast before has arrived by then.
func sentinel(t *testing.T, n *node, cs ...*client) {
	t.Helper()
	if err := n.nsp().Emit("sentinel"); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		c.waitEvent(t, "sentinel")
	}
}

func TestBroadcastAcrossNodes(t *testing.T) {
	_, nodes := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ca, cb, cc := connect(t, a), connect(t, b), connect(t, c)
	socket(t, b, cb).Join("r")
	socket(t, c, cc).Join("r", "muted")

	if err := a.nsp().Emit("all", "x", 1); err != nil {
		t.Fatal(err)
	}
	if err := a.nsp().To("r").Emit("room", "y", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := a.nsp().To("r").Except("muted").Emit("except"); err != nil {
		t.Fatal(err)
	}
	if err := a.nsp().To("r", "nobody").Emit("tworooms"); err != nil {
		t.Fatal(err)
	}
	if err := socket(t, b, cb).Broadcast().Emit("fromb"); err != nil {
		t.Fatal(err)
	}
	sentinel(t, a, ca, cb, cc)
	sentinel(t, b, ca, cb, cc)

	for _, tc := range []struct {
		c     *client
		event string
		want  int
	}{
		{ca, "all", 1}, {cb, "all", 1}, {cc, "all", 1},
		{ca, "room", 0}, {cb, "room", 1}, {cc, "room", 1},
		{ca, "except", 0}, {cb, "except", 1}, {cc, "except", 0},
		{ca, "tworooms", 0}, {cb, "tworooms", 1}, {cc, "tworooms", 1},
		{ca, "fromb", 1}, {cb, "fromb", 0}, {cc, "fromb", 1},
	} {
		if got := tc.c.count(tc.event); got != tc.want {
			t.Errorf("client on node %s got %q %d times, want %d", tc.c.id, tc.event, got, tc.want)
		}
	}
	p := cc.waitEvent(t, "room")
	if p.Type != packet.BinaryEvent || len(p.Attachments) != 1 || string(p.Attachments[0]) != "\x01\x02\x03" ||
		string(p.Data) != `["room","y",{"_placeholder":true,"num":0}]` {
		t.Fatalf("binary broadcast arrived as type %d %s %q", p.Type, p.Data, p.Attachments)
	}
	if s := a.cl.Stats(); s.Published == 0 || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestFetchSocketsAndRooms(t *testing.T) {
	_, nodes := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ca, cb, cc := connect(t, a), connect(t, b), connect(t, c)
	socket(t, b, cb).Join("r")
	socket(t, c, cc).Join("r")
	socket(t, c, cc).SetData(map[string]any{"name": "carol"})

	all, err := a.nsp().FetchSockets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range all {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	want := []string{ca.sid, cb.sid, cc.sid}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("fetchSockets: %v, want %v", ids, want)
	}
	inR, err := a.nsp().In("r").Except(cb.sid).FetchSockets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inR) != 1 || inR[0].ID != cc.sid || !slices.Contains(inR[0].Rooms, "r") {
		t.Fatalf("in r except b: %+v", inR)
	}
	if d, _ := inR[0].Data.(json.RawMessage); string(d) != `{"name":"carol"}` {
		t.Fatalf("remote data %T %s", inR[0].Data, d)
	}

	rooms, err := a.nsp().Adapter().(*Adapter).AllRooms(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rooms, "r") || !slices.Contains(rooms, cb.sid) || !slices.Contains(rooms, ca.sid) {
		t.Fatalf("allRooms %v", rooms)
	}
}

func TestRemoteJoinLeaveDisconnect(t *testing.T) {
	_, nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	ca, cb := connect(t, a), connect(t, b)

	if err := a.nsp().SocketsJoin("team"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "remote join", 5*time.Second, func() bool { return slices.Contains(socket(t, b, cb).Rooms(), "team") })
	if !slices.Contains(socket(t, a, ca).Rooms(), "team") {
		t.Fatal("local socket did not join")
	}
	if err := b.nsp().In("team").SocketsLeave("team"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "remote leave", 5*time.Second, func() bool { return !slices.Contains(socket(t, a, ca).Rooms(), "team") })

	// A socket on B disconnected from A: the client gets DISCONNECT.
	rs, err := a.nsp().In(cb.sid).FetchSockets(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatalf("fetch %v %v", rs, err)
	}
	if err := rs[0].Disconnect(false); err != nil {
		t.Fatal(err)
	}
	cb.wait(t, func(p *packet.Packet) bool { return p.Type == packet.Disconnect })
	waitFor(t, "socket gone", 5*time.Second, func() bool { _, ok := b.nsp().Socket(cb.sid); return !ok })
	if _, ok := a.nsp().Socket(ca.sid); !ok {
		t.Fatal("the local socket was disconnected too")
	}
}

func TestServerSideEmit(t *testing.T) {
	_, nodes := cluster(t, 3)
	got := make(chan string, 10)
	for i, n := range nodes {
		n.nsp().OnServerSideEmit(func(ctx context.Context, event string, args socketio.Args) (any, error) {
			var x int
			args.Decode(0, &x)
			got <- event
			return map[string]int{"node": i, "double": 2 * x}, nil
		})
	}
	answers, err := nodes[0].nsp().ServerSideEmitWithAck(context.Background(), "twice", 21)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 2 {
		t.Fatalf("%d answers", len(answers))
	}
	seen := map[int]bool{}
	for _, a := range answers {
		var v struct{ Node, Double int }
		if err := a.Decode(0, &v); err != nil || v.Double != 42 {
			t.Fatalf("answer %s: %v", a.Raw(0), err)
		}
		seen[v.Node] = true
	}
	if !seen[1] || !seen[2] {
		t.Fatalf("answers from %v", seen)
	}
	if err := nodes[1].nsp().ServerSideEmit(context.Background(), "note"); err != nil {
		t.Fatal(err)
	}
	events := map[string]int{}
	for range 4 {
		select {
		case e := <-got:
			events[e]++
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far %v", events)
		}
	}
	if events["twice"] != 2 || events["note"] != 2 {
		t.Fatalf("events %v", events)
	}
}

// answerAcks makes a client reply to every event that asks for an ack.
func answerAcks(t *testing.T, c *client, reply func(p *packet.Packet) string) {
	t.Helper()
	p := c.wait(t, func(p *packet.Packet) bool { return p.HasID && eventName(p) != "" })
	c.send(&packet.Packet{Type: packet.Ack, ID: p.ID, HasID: true, Data: []byte(reply(p))})
}

func TestBroadcastWithAck(t *testing.T) {
	_, nodes := cluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ca, cb, cc := connect(t, a), connect(t, b), connect(t, c)
	_ = cc
	type result struct {
		replies []socketio.Args
		err     error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := a.nsp().Except(cc.sid).EmitWithAck(ctx, "vote", "?")
		done <- result{r, err}
	}()
	answerAcks(t, ca, func(*packet.Packet) string { return `["a"]` })
	p := cb.wait(t, func(p *packet.Packet) bool { return p.HasID && eventName(p) == "vote" })
	// A binary reply from the remote client.
	cb.send(&packet.Packet{Type: packet.Ack, ID: p.ID, HasID: true, Data: []byte(`[{"b":{"_placeholder":true,"num":0}}]`), Attachments: [][]byte{{7, 7}}})
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.replies) != 2 {
		t.Fatalf("%d replies", len(r.replies))
	}
	var sawBinary bool
	for _, rep := range r.replies {
		var v struct{ B []byte }
		if rep.Decode(0, &v) == nil && string(v.B) == "\x07\x07" {
			sawBinary = true
		}
	}
	if !sawBinary {
		t.Fatalf("binary reply lost: %s %s", r.replies[0].Raw(0), r.replies[1].Raw(0))
	}
	if cc.count("vote") != 0 {
		t.Fatal("excepted socket got the vote")
	}
}

func TestSocketIDs(t *testing.T) {
	_, nodes := cluster(t, 3)
	ca, cb, cc := connect(t, nodes[0]), connect(t, nodes[1]), connect(t, nodes[2])
	socket(t, nodes[1], cb).Join("r")
	socket(t, nodes[2], cc).Join("r")
	ad := nodes[0].nsp().Adapter().(*Adapter)
	ids, err := ad.SocketIDs(context.Background(), socketio.BroadcastOptions{Rooms: []string{"r"}})
	slices.Sort(ids)
	want := []string{cb.sid, cc.sid}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) {
		t.Fatalf("ids in r: %v %v, want %v", ids, err, want)
	}
	ids, err = ad.SocketIDs(context.Background(), socketio.BroadcastOptions{})
	if err != nil || len(ids) != 3 || !slices.Contains(ids, ca.sid) {
		t.Fatalf("all ids: %v %v", ids, err)
	}
	ids, err = ad.SocketIDs(context.Background(), socketio.BroadcastOptions{Rooms: []string{"r"}, Except: []string{cb.sid}})
	if err != nil || len(ids) != 1 || ids[0] != cc.sid {
		t.Fatalf("ids in r except b: %v %v", ids, err)
	}
}

// TestCountSockets: the count spans the cluster; the count-only path must
// not fall back to MemoryAdapter's local count, which the Adapter embeds.
func TestCountSockets(t *testing.T) {
	_, nodes := cluster(t, 3)
	ca, cb, cc := connect(t, nodes[0]), connect(t, nodes[1]), connect(t, nodes[2])
	socket(t, nodes[0], ca).Join("r")
	socket(t, nodes[1], cb).Join("r")
	socket(t, nodes[2], cc).Join("r", "q")
	nsp := nodes[0].nsp()
	tests := []struct {
		op   socketio.BroadcastOperator
		want int
	}{
		{nsp.In("r"), 3},
		{nsp.In("q"), 1},
		{nsp.In("r", "q"), 3},
		{nsp.In("nobody"), 0},
		{nsp.In(cc.sid), 1},
		{nsp.In("r").Except("q"), 2},
		{nsp.In("r").Local(), 1},
		{nsp.Except(ca.sid), 2},
	}
	for i, tt := range tests {
		n, err := tt.op.CountSockets(context.Background())
		if err != nil || n != tt.want {
			t.Errorf("case %d: CountSockets = %d, %v; want %d", i, n, err, tt.want)
		}
	}
}

// TestBroadcastWithAckForgotten: once every remote client has answered, the
// request is forgotten even if the caller's context never ends.
func TestBroadcastWithAckForgotten(t *testing.T) {
	_, nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	cb := connect(t, b)
	done := make(chan error, 1)
	go func() {
		_, err := a.nsp().EmitWithAck(context.Background(), "q")
		done <- err
	}()
	answerAcks(t, cb, func(*packet.Packet) string { return `[1]` })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ad := a.nsp().Adapter().(*Adapter)
	waitFor(t, "ack request forgotten", 5*time.Second, func() bool {
		ad.mu.Lock()
		defer ad.mu.Unlock()
		return len(ad.acks) == 0
	})
}

// TestNamespaceAfterStart: a namespace created once the nodes are running
// (as dynamic namespaces are) is subscribed without blocking its creation,
// and its broadcasts cross nodes.
func TestNamespaceAfterStart(t *testing.T) {
	_, nodes := cluster(t, 2)
	for _, n := range nodes {
		n.srv.Of("/late")
	}
	for _, n := range nodes {
		waitFor(t, "/late subscribed on both nodes", 10*time.Second, func() bool {
			c, err := n.srv.Of("/late").Adapter().ServerCount(context.Background())
			return err == nil && c == 2
		})
	}
	cb := connectNsp(t, nodes[1], "/late", "")
	if err := nodes[0].srv.Of("/late").Emit("hi"); err != nil {
		t.Fatal(err)
	}
	if p := cb.waitEvent(t, "hi"); p.Namespace != "/late" {
		t.Fatalf("event in namespace %q", p.Namespace)
	}
}

// TestBroadcastWithAckNoRemoteClients: a node with no matching socket
// answers a count of 0, which completes the request at once.
func TestBroadcastWithAckNoRemoteClients(t *testing.T) {
	_, nodes := cluster(t, 2)
	ca := connect(t, nodes[0])
	connect(t, nodes[1])
	done := make(chan error, 1)
	go func() {
		_, err := nodes[0].nsp().To(ca.sid).EmitWithAck(context.Background(), "q")
		done <- err
	}()
	answerAcks(t, ca, func(*packet.Packet) string { return `[1]` })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ad := nodes[0].nsp().Adapter().(*Adapter)
	waitFor(t, "ack request forgotten", 5*time.Second, func() bool {
		ad.mu.Lock()
		defer ad.mu.Unlock()
		return len(ad.acks) == 0
	})
}

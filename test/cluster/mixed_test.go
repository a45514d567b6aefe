package cluster

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	redisadapter "github.com/switchboard/switchboard/adapter/redis"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/socketio"
)

// jsServer is nodeserver.mjs: socket.io 4.8 with @socket.io/redis-adapter 8.3.
type jsServer struct {
	*jsProc
	url string
}

func startJSServer(t *testing.T, redisAddr string) *jsServer {
	t.Helper()
	port := testutil.FreePort(t)
	_, rport, _ := strings.Cut(redisAddr, ":")
	j := &jsServer{jsProc: startJS(t, "nodeserver.mjs", strconv.Itoa(port), rport), url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	j.wait(t, "node server listening", func(l map[string]any) bool { return l["ev"] == "listening" })
	return j
}

// TestMixedCluster: a Node.js socket.io server with the official Redis
// adapter and two Switchboard nodes on one redis-server, with npm clients on
// each. Broadcasts to everyone and to rooms, text and binary, both ways;
// broadcast acks both ways; fetchSockets and server-side emit both ways.
func TestMixedCluster(t *testing.T) {
	addr := testutil.StartRedis(t)
	js := startJSServer(t, addr)
	g1, g2 := startGoNode(t, addr), startGoNode(t, addr)
	waitFor(t, "3 nodes seen by Go", 10*time.Second, func() bool {
		n, err := g1.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 3
	})
	seq := js.send(map[string]any{"op": "count"})
	if n := js.waitSeq(t, "count", seq)["n"]; n != float64(3) {
		t.Fatalf("Node.js counts %v servers", n)
	}

	cs := startClients(t)
	urls := map[string]string{"j0": js.url, "j1": js.url, "a0": g1.url, "a1": g1.url, "b0": g2.url, "b1": g2.url}
	ids := []string{"j0", "j1", "a0", "a1", "b0", "b1"}
	for _, id := range ids {
		cs.connect(t, id, urls[id])
	}
	// j0, a0, b0 join "r". The Node server counts members with its own
	// fetchSockets (answered by the Go nodes), the Go nodes with theirs
	// (answered by Node).
	for i, id := range []string{"a0", "j0", "b0"} {
		ack := cs.emitAck(t, id, "join", "r")
		m, _ := ack[0].(map[string]any)
		if m["ok"] != true || m["members"] != float64(i+1) {
			t.Fatalf("%s join ack %v, want %d members", id, ack, i+1)
		}
	}
	inRoom := map[string]bool{"j0": true, "a0": true, "b0": true}

	// Node → everyone and → room, text and binary.
	js.waitSeq(t, "done", js.send(map[string]any{"op": "emit", "event": "js-all", "args": []any{"t", bin([]byte{0, 255})}}))
	js.waitSeq(t, "done", js.send(map[string]any{"op": "emit", "rooms": []string{"r"}, "event": "js-room", "args": []any{map[string]any{"k": bin([]byte("x"))}}}))
	js.waitSeq(t, "done", js.send(map[string]any{"op": "emit", "rooms": []string{"r"}, "except": []string{cs.sids["a0"]}, "event": "js-except"}))
	// Go → everyone and → room, text and binary.
	if err := g1.nsp().Emit("go-all", "t", []byte{9}); err != nil {
		t.Fatal(err)
	}
	if err := g2.nsp().To("r").Emit("go-room", map[string]any{"k": []byte("y")}); err != nil {
		t.Fatal(err)
	}
	if err := g2.nsp().To("r").Except(cs.sids["j0"]).Emit("go-except"); err != nil {
		t.Fatal(err)
	}
	js.waitSeq(t, "done", js.send(map[string]any{"op": "emit", "event": "sentinel"}))
	g1.nsp().Emit("sentinel")
	g2.nsp().Emit("sentinel")
	for _, id := range ids {
		waitFor(t, id+" gets 3 sentinels", 10*time.Second, func() bool { return len(cs.events(id, "sentinel")) == 3 })
	}
	for _, id := range ids {
		want := map[string]int{"js-all": 1, "go-all": 1, "js-room": 0, "go-room": 0, "js-except": 0, "go-except": 0}
		if inRoom[id] {
			want["js-room"], want["go-room"] = 1, 1
			want["js-except"] = map[bool]int{true: 0, false: 1}[id == "a0"]
			want["go-except"] = map[bool]int{true: 0, false: 1}[id == "j0"]
		}
		for ev, n := range want {
			if got := len(cs.events(id, ev)); got != n {
				t.Errorf("%s got %q %d times, want %d", id, ev, got, n)
			}
		}
	}
	if a := cs.waitEvent(t, "b1", "js-all")["args"].([]any); a[0] != "t" || string(unbin(a[1])) != "\x00\xff" {
		t.Errorf("js-all at a Go client: %v", a)
	}
	if a := cs.waitEvent(t, "a0", "js-room")["args"].([]any); string(unbin(a[0].(map[string]any)["k"])) != "x" {
		t.Errorf("js-room at a Go client: %v", a)
	}
	if a := cs.waitEvent(t, "j1", "go-all")["args"].([]any); a[0] != "t" || string(unbin(a[1])) != "\x09" {
		t.Errorf("go-all at a Node client: %v", a)
	}
	if a := cs.waitEvent(t, "j0", "go-room")["args"].([]any); string(unbin(a[0].(map[string]any)["k"])) != "y" {
		t.Errorf("go-room at a Node client: %v", a)
	}

	// Broadcast acks, Node → room: the Go nodes' clients answer through Redis.
	l := js.waitSeq(t, "acks", js.send(map[string]any{"op": "emitWithAck", "rooms": []string{"r"}, "event": "ask", "args": []any{1}}))
	if l["err"] != nil {
		t.Fatalf("Node emitWithAck: %v", l)
	}
	var who []string
	for _, r := range l["replies"].([]any) {
		m := r.(map[string]any)
		if string(unbin(m["bin"])) != m["client"] {
			t.Errorf("reply %v lost its binary", m)
		}
		who = append(who, m["client"].(string))
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"a0", "b0", "j0"}) {
		t.Fatalf("Node's emitWithAck replies from %v", who)
	}
	// Go → everyone: Node's clients answer through Redis.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, err := g1.nsp().EmitWithAck(ctx, "ask", 2)
	if err != nil {
		t.Fatal(err)
	}
	who = who[:0]
	for _, r := range replies {
		var v struct {
			Client string
			Bin    []byte
		}
		if err := r.Decode(0, &v); err != nil || string(v.Bin) != v.Client {
			t.Fatalf("reply %s %v", r.Raw(0), err)
		}
		who = append(who, v.Client)
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"a0", "a1", "b0", "b1", "j0", "j1"}) {
		t.Fatalf("Go's emitWithAck replies from %v", who)
	}

	// fetchSockets both ways.
	l = js.waitSeq(t, "fetched", js.send(map[string]any{"op": "fetch", "rooms": []string{"r"}}))
	var got []string
	for _, s := range l["sockets"].([]any) {
		got = append(got, s.(map[string]any)["id"].(string))
	}
	slices.Sort(got)
	want := []string{cs.sids["a0"], cs.sids["b0"], cs.sids["j0"]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Node fetchSockets(r) = %v, want %v", got, want)
	}
	socks, err := g2.nsp().FetchSockets(context.Background())
	if err != nil || len(socks) != 6 {
		t.Fatalf("Go fetchSockets: %d %v", len(socks), err)
	}
	for _, s := range socks {
		if s.ID == cs.sids["j0"] {
			if !slices.Contains(s.Rooms, "r") || s.Handshake.Address == "" || s.Handshake.Headers.Get("Host") == "" {
				t.Errorf("Node socket as seen from Go: %+v", s)
			}
			if d := fmt.Sprintf("%s", s.Data); d != `{"server":"js"}` {
				t.Errorf("Node socket data %s", d)
			}
		}
	}

	// Socket ids only (SOCKETS request), answered by Node.js too.
	idsR, err := g2.nsp().Adapter().(*redisadapter.Adapter).SocketIDs(context.Background(), socketio.BroadcastOptions{Rooms: []string{"r"}})
	slices.Sort(idsR)
	if err != nil || !slices.Equal(idsR, want) {
		t.Fatalf("SocketIDs(r) = %v %v, want %v", idsR, err, want)
	}

	// Server-side emit both ways.
	for i, n := range []*goNode{g1, g2} {
		n.nsp().OnServerSideEmit(func(ctx context.Context, event string, args socketio.Args) (any, error) {
			return map[string]any{"node": fmt.Sprint("go", i), "event": event}, nil
		})
	}
	l = js.waitSeq(t, "sse", js.send(map[string]any{"op": "sse", "event": "greet", "args": []any{"from js"}}))
	if l["err"] != nil || len(l["replies"].([]any)) != 2 {
		t.Fatalf("Node serverSideEmitWithAck: %v", l)
	}
	answers, err := g1.nsp().ServerSideEmitWithAck(context.Background(), "greet", "from go")
	if err != nil || len(answers) != 2 {
		t.Fatalf("Go serverSideEmitWithAck: %d %v", len(answers), err)
	}
	var nodesSeen []string
	for _, a := range answers {
		var v struct{ Node string }
		a.Decode(0, &v)
		nodesSeen = append(nodesSeen, v.Node)
	}
	slices.Sort(nodesSeen)
	if !slices.Equal(nodesSeen, []string{"go1", "js"}) {
		t.Fatalf("answers from %v", nodesSeen)
	}
}

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/socketio"
)

// TestGoCluster: three Switchboard nodes on one redis-server, two npm
// socket.io-client sockets on each. Room broadcasts, except, publish (event
// and POST /api/publish), acks across nodes, fetchSockets and server-side
// emit, each delivered exactly once.
func TestGoCluster(t *testing.T) {
	addr := testutil.StartRedis(t)
	nodes := []*goNode{startGoNode(t, addr), startGoNode(t, addr), startGoNode(t, addr)}
	for _, n := range nodes {
		waitFor(t, "3 nodes", 10*time.Second, func() bool {
			c, err := n.nsp().Adapter().ServerCount(context.Background())
			return err == nil && c == 3
		})
	}
	cs := startClients(t)
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5"}
	for i, id := range ids {
		cs.connect(t, id, nodes[i/2].url)
	}
	// c0, c2, c4 (one per node) join "r"; the last ack counts all three.
	var members float64
	for _, id := range []string{"c0", "c2", "c4"} {
		ack := cs.emitAck(t, id, "join", "r")
		m, _ := ack[0].(map[string]any)
		if m["ok"] != true {
			t.Fatalf("join: %v", ack)
		}
		members, _ = m["members"].(float64)
	}
	if members != 3 {
		t.Fatalf("join ack counts %v members across the cluster, want 3", members)
	}
	inRoom := map[string]bool{"c0": true, "c2": true, "c4": true}

	// Broadcast from a Go node to the room, text and binary.
	if err := nodes[0].nsp().To("r").Emit("room-msg", "hi", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	// Except: everyone in r but c2, from another node.
	if err := nodes[1].nsp().To("r").Except(cs.sids["c2"]).Emit("except-msg"); err != nil {
		t.Fatal(err)
	}
	// publish from a client: the room's other members.
	if ack := cs.emitAck(t, "c2", "publish", map[string]any{"room": "r", "event": "chat", "data": map[string]any{"text": "yo", "b": bin([]byte("zz"))}}); fmt.Sprint(ack) != "[map[ok:true]]" {
		t.Fatalf("publish ack %v", ack)
	}
	// POST /api/publish on one node reaches the room's members on all.
	req, _ := http.NewRequest("POST", nodes[1].url+"/api/publish", strings.NewReader(`{"room":"r","event":"api","data":{"n":1}}`))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/publish: %s", resp.Status)
	}
	// Everyone, from the third node.
	if err := nodes[2].nsp().Emit("all-msg", 7); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if err := n.nsp().Emit("sentinel"); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		waitFor(t, id+" gets 3 sentinels", 10*time.Second, func() bool { return len(cs.events(id, "sentinel")) == 3 })
	}
	for _, id := range ids {
		want := map[string]int{"room-msg": 0, "except-msg": 0, "chat": 0, "all-msg": 1, "api": 0}
		if inRoom[id] {
			want["room-msg"], want["api"] = 1, 1
			if id != "c2" {
				want["except-msg"], want["chat"] = 1, 1
			}
		}
		for ev, n := range want {
			if got := len(cs.events(id, ev)); got != n {
				t.Errorf("%s got %q %d times, want %d", id, ev, got, n)
			}
		}
	}
	rm := cs.events("c4", "room-msg")[0]["args"].([]any)
	if rm[0] != "hi" || string(unbin(rm[1])) != "\x01\x02\x03" {
		t.Errorf("room-msg args %v", rm)
	}
	chat := cs.events("c0", "chat")[0]["args"].([]any)[0].(map[string]any)
	if chat["text"] != "yo" || string(unbin(chat["b"])) != "zz" {
		t.Errorf("chat args %v", chat)
	}

	// Acks across nodes: every member of r answers (clients.mjs echoes).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, err := nodes[2].nsp().To("r").EmitWithAck(ctx, "ask", 5)
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, r := range replies {
		var v struct {
			Client string
			Echo   int
			Bin    []byte
		}
		if err := r.Decode(0, &v); err != nil || v.Echo != 5 || string(v.Bin) != v.Client {
			t.Fatalf("reply %s: %v", r.Raw(0), err)
		}
		who = append(who, v.Client)
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"c0", "c2", "c4"}) {
		t.Fatalf("ack replies from %v", who)
	}

	// fetchSockets sees every socket, with its rooms, from any node.
	all, err := nodes[1].nsp().FetchSockets(context.Background())
	if err != nil || len(all) != 6 {
		t.Fatalf("fetchSockets: %d, %v", len(all), err)
	}
	var sids []string
	for _, s := range all {
		sids = append(sids, s.ID)
		if s.ID == cs.sids["c4"] && !slices.Contains(s.Rooms, "r") {
			t.Errorf("c4's rooms %v", s.Rooms)
		}
	}
	for _, id := range ids {
		if !slices.Contains(sids, cs.sids[id]) {
			t.Errorf("fetchSockets misses %s", id)
		}
	}

	// Server-side emit with acks reaches the two other nodes once each.
	for i, n := range nodes {
		n.nsp().OnServerSideEmit(func(ctx context.Context, event string, args socketio.Args) (any, error) {
			return map[string]any{"node": i, "event": event}, nil
		})
	}
	answers, err := nodes[0].nsp().ServerSideEmitWithAck(context.Background(), "hello")
	if err != nil || len(answers) != 2 {
		t.Fatalf("serverSideEmit: %d answers, %v", len(answers), err)
	}
	var from []int
	for _, a := range answers {
		var v struct{ Node int }
		json.Unmarshal(a.Raw(0), &v)
		from = append(from, v.Node)
	}
	slices.Sort(from)
	if !slices.Equal(from, []int{1, 2}) {
		t.Fatalf("answers from nodes %v", from)
	}
}

package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// TestRecovery states by test what docs/scaleout.md says: connection-state
// recovery works per node. A client that comes back to its node is
// recovered with the broadcasts it missed, those from other nodes included;
// one that comes back to another node starts a new session.
func TestRecovery(t *testing.T) {
	addr := testutil.StartRedis(t)
	g1, g2 := startGoNode(t, addr), startGoNode(t, addr)
	waitFor(t, "2 nodes", 10*time.Second, func() bool {
		n, err := g1.nsp().Adapter().ServerCount(context.Background())
		return err == nil && n == 2
	})
	cs := startClients(t)

	// Same node.
	cs.send(map[string]any{"op": "connect", "id": "x", "url": g1.url, "reconnect": true, "delay": 1500})
	first := cs.wait(t, "x connected", func(l map[string]any) bool { return l["ev"] == "connected" && l["id"] == "x" })
	cs.emitAck(t, "x", "join", "r")
	g1.nsp().To("r").Emit("tick") // gives x an offset to come back with
	cs.waitEvent(t, "x", "tick")
	cs.send(map[string]any{"op": "drop", "id": "x"})
	waitFor(t, "x gone from node 1", 10*time.Second, func() bool { return len(g1.nsp().Sockets()) == 0 })
	if err := g2.nsp().To("r").Emit("missed", 1); err != nil {
		t.Fatal(err)
	}
	if err := g2.nsp().To("elsewhere").Emit("not-for-x"); err != nil {
		t.Fatal(err)
	}
	again := cs.wait(t, "x reconnected", func(l map[string]any) bool {
		return l["ev"] == "connected" && l["id"] == "x" && l["recovered"] != first["recovered"]
	})
	if again["recovered"] != true || again["sid"] != first["sid"] {
		t.Fatalf("same-node reconnection: %v (first %v)", again, first)
	}
	cs.waitEvent(t, "x", "missed")
	g2.nsp().Emit("sentinel")
	cs.waitEvent(t, "x", "sentinel")
	if n, m := len(cs.events("x", "missed")), len(cs.events("x", "not-for-x")); n != 1 || m != 0 {
		t.Fatalf("missed delivered %d times, not-for-x %d", n, m)
	}

	// Another node: the session is not found there.
	cs.connect(t, "y", g1.url)
	cs.emitAck(t, "y", "join", "r")
	g1.nsp().To("r").Emit("tick") // gives y an offset
	cs.waitEvent(t, "y", "tick")
	st := cs.waitSeq(t, "state", cs.send(map[string]any{"op": "state", "id": "y"}))
	if st["pid"] == nil || st["offset"] == nil {
		t.Fatalf("y has no recovery state: %v", st)
	}
	cs.send(map[string]any{"op": "drop", "id": "y"})
	cs.send(map[string]any{"op": "connect", "id": "y2", "url": g2.url, "auth": map[string]any{"pid": st["pid"], "offset": st["offset"]}})
	l := cs.wait(t, "y2 connected", func(l map[string]any) bool { return l["ev"] == "connected" && l["id"] == "y2" })
	if l["recovered"] != false {
		t.Fatalf("cross-node reconnection reported recovered: %v", l)
	}
}

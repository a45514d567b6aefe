package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// sigPeer is a /signal client.
type sigPeer struct {
	cc *websocket.ClientConn
	id string
}

func dialSignal(t *testing.T, url string) *sigPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/signal", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.CloseNow() })
	return &sigPeer{cc: cc}
}

func (p *sigPeer) send(t *testing.T, frame string) {
	t.Helper()
	if err := p.cc.Write(context.Background(), websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// next reads frames until one of type typ arrives.
func (p *sigPeer) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, b, err := p.cc.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m map[string]any
		if json.Unmarshal(b, &m) == nil && m["type"] == typ {
			return m
		}
	}
}

// peerJoined reads frames until the peer-joined of id.
func (p *sigPeer) peerJoined(t *testing.T, id string) map[string]any {
	t.Helper()
	for {
		if m := p.next(t, "peer-joined"); m["id"] == id {
			return m
		}
	}
}

func (p *sigPeer) join(t *testing.T, room, name string) map[string]any {
	t.Helper()
	p.send(t, `{"type":"join","room":"`+room+`","name":"`+name+`"}`)
	j := p.next(t, "joined")
	p.id = j["id"].(string)
	return j
}

// TestSignalingAcrossNodes: two peers of one room on different nodes find
// each other over /signal and exchange offer, answer and candidates; when
// one leaves, or its node is killed, the other gets peer-left.
func TestSignalingAcrossNodes(t *testing.T) {
	addr := testutil.StartRedis(t)
	n1 := startGoNode(t, addr)
	victim, vurl := startNodeProcess(t, addr)
	_ = victim
	n2url := startGoNode(t, addr).url

	a := dialSignal(t, n1.url)
	b := dialSignal(t, n2url)
	a.join(t, "call", "ann")
	jb := b.join(t, "call", "bob")
	if peers := jb["peers"].([]any); len(peers) != 1 || peers[0].(map[string]any)["id"] != a.id {
		t.Fatalf("bob's joined: %v", jb)
	}
	if pj := a.next(t, "peer-joined"); pj["id"] != b.id || pj["name"] != "bob" {
		t.Fatalf("ann's peer-joined: %v", pj)
	}
	b.send(t, `{"type":"offer","to":"`+a.id+`","sdp":"v=0 o"}`)
	if m := a.next(t, "offer"); m["from"] != b.id || m["sdp"] != "v=0 o" {
		t.Fatalf("offer: %v", m)
	}
	a.send(t, `{"type":"answer","to":"`+b.id+`","sdp":"v=0 a"}`)
	a.send(t, `{"type":"candidate","to":"`+b.id+`","candidate":{"candidate":"x","sdpMid":"0"}}`)
	if m := b.next(t, "answer"); m["from"] != a.id {
		t.Fatalf("answer: %v", m)
	}
	if m := b.next(t, "candidate"); m["from"] != a.id {
		t.Fatalf("candidate: %v", m)
	}
	b.send(t, `{"type":"leave"}`)
	if m := a.next(t, "peer-left"); m["id"] != b.id {
		t.Fatalf("peer-left: %v", m)
	}

	// A peer on a node killed with SIGKILL leaves by the heartbeat's expiry.
	c := dialSignal(t, vurl)
	c.join(t, "call", "cy")
	a.next(t, "peer-joined")
	if err := syscall.Kill(victim.Cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if m := a.next(t, "peer-left"); m["id"] != c.id {
		t.Fatalf("peer-left after the kill: %v", m)
	}
	// docs/scaleout.md states NodeTTL + HeartbeatInterval (3 s + 250 ms in
	// these nodes); a second more for a loaded machine's scheduling.
	elapsed := time.Since(start)
	t.Logf("peer of the killed node left after %v", elapsed)
	if bound := nodeTTL + heartbeat + time.Second; elapsed > bound {
		t.Errorf("peer-left came %v after the kill, beyond the stated %v", elapsed, bound)
	}
}

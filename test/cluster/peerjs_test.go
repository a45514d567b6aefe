package cluster

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// pjClient speaks the PeerJS server protocol, as the npm peerjs client does.
type pjClient struct {
	cc *websocket.ClientConn
}

func dialPeerJS(t *testing.T, url, id, token string) *pjClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(url, "http") + "/peerjs/peerjs?key=peerjs&id=" + id + "&token=" + token
	cc, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.CloseNow() })
	return &pjClient{cc: cc}
}

func (p *pjClient) send(t *testing.T, frame string) {
	t.Helper()
	if err := p.cc.Write(context.Background(), websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next frame.
func (p *pjClient) next(t *testing.T) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, b, err := p.cc.Read(ctx)
	if err != nil {
		t.Fatalf("reading a PeerJS frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return m
}

func (p *pjClient) expect(t *testing.T, typ, src string) map[string]any {
	t.Helper()
	m := p.next(t)
	if m["type"] != typ || (src != "" && m["src"] != src) {
		t.Fatalf("got %v, want %s from %q", m, typ, src)
	}
	return m
}

// TestPeerJSAcrossNodes: two PeerJS clients on different nodes reach each
// other by id (OFFER, ANSWER, CANDIDATE, in order); an id held on one node
// is ID-TAKEN on the other; a client that disconnects is announced to its
// partner on the other node with LEAVE; a frame for an absent id comes
// back as EXPIRE.
func TestPeerJSAcrossNodes(t *testing.T) {
	addr := testutil.StartRedis(t)
	n1, n2 := startGoNode(t, addr), startGoNode(t, addr)

	ann := dialPeerJS(t, n1.url, "ann", "t1")
	ann.expect(t, "OPEN", "")
	bob := dialPeerJS(t, n2.url, "bob", "t2")
	bob.expect(t, "OPEN", "")

	ann.send(t, `{"type":"OFFER","dst":"bob","payload":{"sdp":{"type":"offer","sdp":"v=0"},"type":"media","connectionId":"mc_1"}}`)
	if m := bob.expect(t, "OFFER", "ann"); m["dst"] != "bob" || m["payload"].(map[string]any)["connectionId"] != "mc_1" {
		t.Fatalf("offer at bob: %v", m)
	}
	bob.send(t, `{"type":"ANSWER","dst":"ann","payload":{"n":1}}`)
	for i := 2; i <= 4; i++ {
		bob.send(t, `{"type":"CANDIDATE","dst":"ann","payload":{"n":`+strconv.Itoa(i)+`}}`)
	}
	ann.expect(t, "ANSWER", "bob")
	for i := 2; i <= 4; i++ {
		if m := ann.expect(t, "CANDIDATE", "bob"); m["payload"].(map[string]any)["n"] != float64(i) {
			t.Fatalf("candidate %d out of order: %v", i, m)
		}
	}

	// ann's id is held on node 1: another token on node 2 is refused.
	thief := dialPeerJS(t, n2.url, "ann", "nope")
	thief.expect(t, "ID-TAKEN", "")

	// An id nobody holds: EXPIRE after the expire timeout (5 s).
	ann.send(t, `{"type":"OFFER","dst":"nobody","payload":{}}`)
	if m := ann.expect(t, "EXPIRE", "nobody"); m["dst"] != "ann" {
		t.Fatalf("expire: %v", m)
	}

	// bob's socket closes: after the leave grace, ann (on the other node)
	// gets LEAVE from bob, and bob's id is free in the cluster.
	bob.cc.CloseNow()
	ann.expect(t, "LEAVE", "bob")
	bob2 := dialPeerJS(t, n1.url, "bob", "another")
	bob2.expect(t, "OPEN", "")
	// Once: neither bob's node nor ann's (which sees bob's id released)
	// tells ann again. A frame from the new bob comes next.
	time.Sleep(4 * pjRefresh)
	bob2.send(t, `{"type":"OFFER","dst":"ann","payload":{"n":"new"}}`)
	ann.expect(t, "OFFER", "bob")
}

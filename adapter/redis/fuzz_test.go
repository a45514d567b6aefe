package redisadapter

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeHandshake feeds handshakes as other nodes may send them; the
// seed corpus holds one captured from Node.js socket.io 4.8.
func FuzzDecodeHandshake(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		h := decodeHandshake(raw)
		if _, err := json.Marshal(h); err != nil {
			t.Fatalf("decoded handshake does not encode: %v", err)
		}
	})
}

// FuzzRoomEvent feeds signaling events to a Rooms with one local member in
// room "r": whatever arrives, it is delivered at most once and never panics.
func FuzzRoomEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := &peer{}
		r := &Rooms{c: &Cluster{log: discardLogger()}, local: map[string]map[string]*localMember{
			"r": {"B": {peer: p, name: "bob", joinSeq: 1}},
		}}
		r.onEvent(payload)
		if n := len(p.frames); n > 1 {
			t.Fatalf("%d frames delivered", n)
		}
	})
}

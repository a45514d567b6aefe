package message

import (
	"encoding/json"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every error carries a
// code, and that a relayed frame is valid JSON holding the same members with
// "from" in place of "to".
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","room":"r","name":"n"}`,
		`{"type":"leave"}`,
		`{"type":"offer","to":"p1","sdp":"v=0"}`,
		`{"type":"candidate","to":"p1","candidate":{"candidate":""},"x":[1,"]"]}`,
		`{"type":"answer","\u0074o":"p1","sdp":"v=0","from":"x"}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			if CodeOf(err) == CodeInternal {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		if !m.Type.IsRelay() {
			return
		}
		out := m.AppendRelay(nil, "sender")
		var orig, relayed map[string]json.RawMessage
		if err := json.Unmarshal(data, &orig); err != nil {
			t.Fatalf("input decoded but not by encoding/json: %v", err)
		}
		if err := json.Unmarshal(out, &relayed); err != nil {
			t.Fatalf("relay %s is not JSON: %v", out, err)
		}
		if string(relayed["from"]) != `"sender"` {
			t.Fatalf("relay %s: from = %s", out, relayed["from"])
		}
		if _, ok := relayed["to"]; ok {
			t.Fatalf("relay %s still has to", out)
		}
		if len(relayed) != len(orig) {
			t.Fatalf("relay %s has %d members, input %d", out, len(relayed), len(orig))
		}
		for k, v := range orig {
			if k != "to" && string(relayed[k]) != string(v) {
				t.Fatalf("member %q changed: %s → %s", k, v, relayed[k])
			}
		}
		if _, err := Decode(out); err == nil {
			// A relayed frame has "from" and no "to", so it cannot be decoded as a client frame.
			t.Fatalf("relayed frame decoded as a client frame: %s", out)
		}
	})
}

package peerjs

import (
	"encoding/json"
	"testing"
)

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "abc-def_ghi jkl": true, "0f8e1c2a-9d5b-4b7e-8c1a-2b3c4d5e6f70": true,
		"": false, "-a": false, "a-": false, "a--b": false, "a b!": false, "é": false,
	} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
	for range 100 {
		if id := newID(); !ValidID(id) || len(id) != 36 || id[14] != '4' {
			t.Fatalf("newID() = %q", id)
		}
	}
}

func TestDecodeFrame(t *testing.T) {
	for _, tt := range []struct {
		in   string
		ok   bool
		want string // appendFrame with src "s"
	}{
		{`{"type":"OFFER","dst":"b","payload":{"a":[1,2]}}`, true, `{"type":"OFFER","src":"s","dst":"b","payload":{"a":[1,2]}}`},
		{`{"type":"HEARTBEAT"}`, true, `{"type":"HEARTBEAT","src":"s"}`},
		{`{"type":"LEAVE","dst":"b","payload":null}`, true, `{"type":"LEAVE","src":"s","dst":"b"}`},
		{`{"type":"X","dst":"b","payload":"str","src":"spoof"}`, true, `{"type":"X","src":"s","dst":"b","payload":"str"}`},
		{`{"type":null}`, false, ""},
		{`{"type":"OFFER","dst":[]}`, false, ""},
		{`{}`, false, ""},
		{`[]`, false, ""},
		{`{"type":"OFFER"`, false, ""},
	} {
		f, ok := decodeFrame([]byte(tt.in))
		if ok != tt.ok {
			t.Fatalf("decodeFrame(%s) ok = %v", tt.in, ok)
		}
		if ok {
			if got := string(appendFrame(nil, f.Type, "s", f.Dst, f.Payload)); got != tt.want {
				t.Errorf("%s\n got %s\nwant %s", tt.in, got, tt.want)
			}
		}
	}
}

// FuzzDecodeFrame checks that any frame either is refused or re-encodes to
// valid JSON carrying the same type, dst and payload.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"OFFER","dst":"b","payload":{"sdp":"v=0"}}`, `{"type":"HEARTBEAT"}`, `{"type":"LEAVE"}`,
		`{"type":"CANDIDATE","dst":"x","payload":[1,"\u0000"]}`, `{"type":"OFFER","dst":"b","payload":}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, ok := decodeFrame(data)
		if !ok {
			return
		}
		out := appendFrame(nil, fr.Type, "src", fr.Dst, fr.Payload)
		var back struct {
			Type    string          `json:"type"`
			Src     string          `json:"src"`
			Dst     string          `json:"dst"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-encoded %s is not JSON: %v", out, err)
		}
		if back.Type != string(fr.Type) || back.Src != "src" || back.Dst != fr.Dst || string(back.Payload) != string(fr.Payload) {
			t.Fatalf("round trip changed the frame: %s → %s", data, out)
		}
	})
}

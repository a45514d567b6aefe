package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// The seed corpora live in testdata/fuzz/<Target>/; they hold the captured
// Node.js messages of testdata/node-capture.jsonl and edge cases.

func FuzzDecodeMsgpack(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeMsgpack(b)
		if err != nil {
			return
		}
		enc, err := AppendMsgpack(nil, v)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v", err)
		}
		v2, err := DecodeMsgpack(enc)
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		j1, err1 := AppendJSON(nil, v)
		j2, err2 := AppendJSON(nil, v2)
		if err1 != nil || err2 != nil || !bytes.Equal(j1, j2) {
			t.Fatalf("round trip changed the value: %s / %s", j1, j2)
		}
	})
}

func FuzzDecodeBroadcast(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeBroadcast(b)
		if err != nil {
			return
		}
		enc, err := AppendBroadcast(nil, m)
		if err != nil {
			t.Fatalf("decoded broadcast does not encode: %v", err)
		}
		m2, err := DecodeBroadcast(enc)
		if err != nil {
			t.Fatalf("re-encoded broadcast does not decode: %v", err)
		}
		if m.UID != m2.UID || !bytes.Equal(m.Packet.Data, m2.Packet.Data) || len(m.Packet.Attachments) != len(m2.Packet.Attachments) {
			t.Fatalf("round trip changed the broadcast")
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			return
		}
		enc, err := AppendRequest(nil, r)
		if err != nil {
			return // e.g. JSON data that is not valid for re-encoding
		}
		r2, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-encoded request %q does not decode: %v", enc, err)
		}
		// JSON carries text only: invalid UTF-8 becomes U+FFFD.
		if r.Type != r2.Type || (utf8.ValidString(r.UID+r.RequestID) && (r.UID != r2.UID || r.RequestID != r2.RequestID)) {
			t.Fatalf("round trip changed the request")
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			return
		}
		enc, err := AppendResponse(nil, r)
		if err != nil {
			return
		}
		r2, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("re-encoded response %q does not decode: %v", enc, err)
		}
		if utf8.ValidString(r.RequestID) && r.RequestID != r2.RequestID {
			t.Fatalf("round trip changed the response")
		}
	})
}

func FuzzFromJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, att []byte) {
		v, err := FromJSON(data, [][]byte{att})
		if err != nil {
			return
		}
		mp, err := AppendMsgpack(nil, v)
		if err != nil {
			t.Fatalf("value does not encode: %v", err)
		}
		back, err := DecodeMsgpack(mp)
		if err != nil {
			t.Fatalf("msgpack does not decode: %v", err)
		}
		j, atts, err := ToJSON(back)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := FromJSON(j, atts)
		if err != nil {
			t.Fatalf("ToJSON output %s does not parse: %v", j, err)
		}
		j2, _, _ := ToJSON(v2)
		if !bytes.Equal(j, j2) {
			t.Fatalf("unstable: %s vs %s", j, j2)
		}
	})
}

// FuzzFromJSONValid checks the hand-written parser against encoding/json:
// it accepts exactly the valid documents (placeholders aside).
func FuzzFromJSONValid(f *testing.F) {
	for _, s := range []string{`[1,"a",{"b":[true,null]}]`, `{"a":1e5}`, ` "x\u00e9\n" `, `01`, `[1,]`, `{"a" 1}`, `"\ud800"`, "\"\xff\"", `-0.5e-3`, `[`, `tru`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := FromJSON(data, nil)
		valid := json.Valid(data)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err != nil && valid && !strings.Contains(err.Error(), "placeholder") && !strings.Contains(err.Error(), "nested too deep") {
			t.Fatalf("rejected valid JSON %q: %v", data, err)
		}
	})
}

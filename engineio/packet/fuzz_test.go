package packet

import (
	"bytes"
	"testing"
)

// FuzzDecodePayload checks that the payload decoder never panics and that
// whatever it accepts re-encodes to the same bytes (the encoding is canonical:
// strict base64, one digit per type).
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{
		"4hello\x1e2\x1e4world", "4hello\x1ebAQIDBA==", "", "\x1e", "abc", "b", "bAQ==",
		"2probe", `0{"sid":"x"}`, "4€\x1e6", "4\xff", "b!!\x1e4",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pkts, err := DecodePayload(nil, in, 0)
		if err != nil {
			if len(pkts) != 0 {
				t.Fatalf("packets returned with error %v", err)
			}
			return
		}
		out := AppendPayload(nil, pkts...)
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip: %q -> %q", in, out)
		}
		if PayloadLen(pkts...) != len(out) {
			t.Fatalf("PayloadLen %d != %d", PayloadLen(pkts...), len(out))
		}
	})
}

// FuzzDecodeText checks the single-packet decoder the same way.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{"4hello", "2probe", "bAQIDBA==", "1", "", "9", "4\xc3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodeText(in)
		if err != nil {
			return
		}
		if out := AppendText(nil, p); !bytes.Equal(out, in) {
			t.Fatalf("round trip: %q -> %q", in, out)
		}
	})
}

package packet

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode feeds a text message, optionally followed by binary attachments
// (split from the input at 0x00 bytes), to a Decoder. Whatever it accepts must
// re-encode to a message it decodes to the same packet.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`0`, `0{"token":"123"}`, `0/custom,{"token":"abc"}`, `1/custom,`, `2["message",1,"2",{"3":[true]}]`,
		`2456["message-with-ack",1]`, `3123["a",1,{}]`, `4{"message":"x"}`,
		"52-[\"m\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]\x00\x01\x02\x00\x03",
		"61-/back,127[\"a\",{\"_placeholder\":true,\"num\":0}]\x00xxx", `2abc[]`, `5a-`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		parts := bytes.Split(in, []byte{0})
		var d Decoder
		p, err := d.Decode(parts[0], false)
		for _, b := range parts[1:] {
			if err != nil || p != nil {
				break
			}
			p, err = d.Decode(b, true)
		}
		if err != nil || p == nil {
			return
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("accepted invalid JSON %q", p.Data)
		}
		text, bins := Encode(p)
		var d2 Decoder
		q, err := d2.Decode(text, false)
		for _, b := range bins {
			if err != nil {
				break
			}
			q, err = d2.Decode(b, true)
		}
		if err != nil || q == nil {
			t.Fatalf("re-encoded %q does not decode: %v", text, err)
		}
		if q.Type != p.Type || q.NS() != p.NS() || q.ID != p.ID || q.HasID != p.HasID ||
			!bytes.Equal(q.Data, p.Data) || len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip changed %+v into %+v", p, q)
		}
	})
}

// FuzzAppendRaw checks that renumbering placeholders of arbitrary JSON keeps it
// valid and the attachments consistent.
func FuzzAppendRaw(f *testing.F) {
	f.Add([]byte(`[{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1}}]`), uint8(2))
	f.Add([]byte(`{"x":[1,2,{"_placeholder":true,"num":0}]}`), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		// Without attachments placeholders are plain data, copied as is.
		if !json.Valid(data) || n == 0 || n > 16 {
			return
		}
		atts := make([][]byte, n)
		for i := range atts {
			atts[i] = []byte{byte(i)}
		}
		out, got, err := AppendValue(nil, [][]byte{{0xff}}, Raw{JSON: data, Attachments: atts})
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%q became invalid %q", data, out)
		}
		if _, err := Placeholders(out, len(got)); err != nil {
			t.Fatalf("output %q has bad placeholders: %v", out, err)
		}
	})
}

package stun

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to every decoder. Decoding must not
// panic, attribute values must lie inside Raw, and a decoded message
// re-encoded attribute by attribute must decode to the same attributes.
func FuzzDecode(f *testing.F) {
	for _, v := range []string{rfc5769Request, rfc5769IPv4, rfc5769IPv6, rfc5769LongTerm} {
		f.Add(unhex(f, v))
	}
	f.Add(AppendChannelData(nil, 0x4001, []byte("hello"), true))
	// RFC 6062: a ConnectionBind request and a ConnectionAttempt indication.
	var seed Message
	seed.Reset(Type{MethodConnectionBind, ClassRequest}, TransactionID{1})
	seed.AddConnectionID(0x01020304)
	f.Add(append([]byte(nil), seed.Raw...))
	seed.Reset(Type{MethodConnectionAttempt, ClassIndication}, TransactionID{2})
	seed.AddConnectionID(7)
	seed.AddXORAddress(AttrXORPeerAddress, netip.MustParseAddrPort("192.0.2.1:80"))
	f.Add(append([]byte(nil), seed.Raw...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		FrameLength(b)
		ParseChannelData(b)
		if err := m.Decode(b); err != nil {
			return
		}
		if len(m.Raw) > len(b) || len(m.Raw)%4 != 0 {
			t.Fatalf("Raw %d of %d", len(m.Raw), len(b))
		}
		m.CheckIntegrity([]byte("key"))
		m.CheckIntegritySHA256([]byte("key"))
		m.CheckFingerprint()
		var out Message
		out.Reset(m.Type, m.TransactionID)
		for _, a := range m.Attributes {
			XORAddress(a.Value, &m.TransactionID)
			Address(a.Value)
			ErrorCode(a.Value)
			UnknownAttributes(nil, a.Value)
			PasswordAlgorithm(a.Value)
			if id, err := ConnectionID(a.Value); err == nil {
				var c Message
				c.Reset(m.Type, m.TransactionID)
				c.AddConnectionID(id)
				if !bytes.Equal(c.Attributes[0].Value, a.Value) {
					t.Fatalf("CONNECTION-ID %#x does not round-trip", id)
				}
			}
			out.Add(a.Type, a.Value)
		}
		var again Message
		if err := again.Decode(out.Raw); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if len(again.Attributes) != len(m.Attributes) {
			t.Fatalf("attributes %d, want %d", len(again.Attributes), len(m.Attributes))
		}
		for i := range m.Attributes {
			if again.Attributes[i].Type != m.Attributes[i].Type || !bytes.Equal(again.Attributes[i].Value, m.Attributes[i].Value) {
				t.Fatalf("attribute %d differs", i)
			}
		}
	})
}

package stun

import (
	"net/netip"
	"testing"
)

// The relay and request paths reuse one Message per goroutine; once warm,
// decoding, building, signing and checking allocate nothing.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	key := LongTermKey("user", "realm", "pass")
	peer := netip.MustParseAddrPort("[2001:db8::7]:4000")
	payload := make([]byte, 1000)
	var req, resp Message
	req.Reset(Type{MethodSend, ClassIndication}, TransactionID{1})
	req.AddXORAddress(AttrXORPeerAddress, peer)
	req.Add(AttrData, payload)
	wire := append([]byte(nil), req.Raw...)

	var signed Message
	signed.Reset(Type{MethodRefresh, ClassRequest}, TransactionID{2})
	signed.AddUint32(AttrLifetime, 600)
	signed.AddIntegrity(key[:])
	signed.AddFingerprint()
	signedWire := append([]byte(nil), signed.Raw...)

	cases := map[string]func(){
		"decode send indication": func() {
			if err := req.Decode(wire); err != nil {
				t.Fatal(err)
			}
			if _, err := req.GetXORAddress(AttrXORPeerAddress); err != nil {
				t.Fatal(err)
			}
			if _, ok := req.Get(AttrData); !ok {
				t.Fatal("no data")
			}
		},
		"build data indication": func() {
			resp.Reset(Type{MethodData, ClassIndication}, TransactionID{3})
			resp.AddXORAddress(AttrXORPeerAddress, peer)
			resp.Add(AttrData, payload)
		},
		"check integrity and fingerprint": func() {
			if err := req.Decode(signedWire); err != nil {
				t.Fatal(err)
			}
			if err := req.CheckIntegrity(key[:]); err != nil {
				t.Fatal(err)
			}
			if err := req.CheckFingerprint(); err != nil {
				t.Fatal(err)
			}
		},
		"build signed error response": func() {
			resp.Reset(Type{MethodAllocate, ClassErrorResponse}, TransactionID{4})
			resp.AddErrorCode(CodeStaleNonce, "")
			resp.AddString(AttrNonce, "abcdefgh")
			resp.AddIntegrity(key[:])
			resp.AddFingerprint()
		},
		"channel data": func() {
			if _, _, err := ParseChannelData(wire[:0:0]); err == nil {
				t.Fatal("parsed empty")
			}
		},
		"malformed input": func() {
			if err := req.Decode(payload[:40]); err == nil {
				t.Fatal("decoded zeros")
			}
		},
	}
	for name, f := range cases {
		f() // warm buffers and hashers
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs per run", name, n)
		}
	}
}

func BenchmarkDecodeSendIndication(b *testing.B) {
	var m Message
	m.Reset(Type{MethodSend, ClassIndication}, TransactionID{1})
	m.AddXORAddress(AttrXORPeerAddress, netip.MustParseAddrPort("192.0.2.1:4000"))
	m.Add(AttrData, make([]byte, 160))
	wire := append([]byte(nil), m.Raw...)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if err := m.Decode(wire); err != nil {
			b.Fatal(err)
		}
		if _, err := m.GetXORAddress(AttrXORPeerAddress); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignedResponse(b *testing.B) {
	key := LongTermKey("user", "realm", "pass")
	var m Message
	b.ReportAllocs()
	for b.Loop() {
		m.Reset(Type{MethodRefresh, ClassSuccess}, TransactionID{1})
		m.AddUint32(AttrLifetime, 600)
		m.AddIntegrity(key[:])
		m.AddFingerprint()
	}
}

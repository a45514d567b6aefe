package turn

import (
	"net/netip"
	"testing"

	"github.com/switchboard/switchboard/stun"
)

// fuzzPeer is where fuzzed Send indications and ChannelData may actually
// be relayed: the discard port on loopback, allowed explicitly. No test
// sends to any address off this machine.
var fuzzPeer = netip.MustParseAddrPort("127.0.0.1:9")

// FuzzHandle feeds arbitrary datagrams to the request handler and the
// ChannelData path of a server holding one allocation with a channel. No
// input may crash it, and anything it answers must be a well-formed STUN
// response to the same transaction.
func FuzzHandle(f *testing.F) {
	var m stun.Message
	add := func(t stun.Type, build func(m *stun.Message)) {
		m.Reset(t, stun.TransactionID{1, 2, 3})
		if build != nil {
			build(&m)
		}
		f.Add(append([]byte(nil), m.Raw...))
	}
	add(stun.BindingRequest, nil)
	add(allocateReq, udpTransport)
	add(allocateReq, func(m *stun.Message) {
		udpTransport(m)
		m.AddString(stun.AttrUsername, "alice")
		m.AddString(stun.AttrRealm, "test")
		m.AddString(stun.AttrNonce, "0123456789abcdef0123456789abcdef")
		m.AddIntegrity([]byte("k"))
		m.AddFingerprint()
	})
	add(stun.Type{Method: stun.MethodSend, Class: stun.ClassIndication}, func(m *stun.Message) {
		m.AddXORAddress(stun.AttrXORPeerAddress, fuzzPeer)
		m.Add(stun.AttrData, []byte("hello"))
	})
	f.Add(stun.AppendChannelData(nil, 0x4000, []byte("hello"), false))
	// RFC 6062: Connect and ConnectionBind (over the harness's UDP 5-tuple
	// both end in 400, after authentication) and a TCP Allocate.
	add(stun.Type{Method: stun.MethodConnect, Class: stun.ClassRequest}, func(m *stun.Message) {
		m.AddXORAddress(stun.AttrXORPeerAddress, fuzzPeer)
	})
	add(stun.Type{Method: stun.MethodConnectionBind, Class: stun.ClassRequest}, func(m *stun.Message) {
		m.AddConnectionID(1)
	})
	add(allocateReq, func(m *stun.Message) { m.AddRequestedTransport(stun.ProtoTCP) })

	f.Fuzz(func(t *testing.T, b []byte) {
		h := newHarness(t, Config{AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		u := alice()
		h.allocate(ft1, u)
		h.do(ft1, bindReq, u, func(m *stun.Message) {
			m.AddChannelNumber(0x4000)
			m.AddXORAddress(stun.AttrXORPeerAddress, fuzzPeer)
		})
		if stun.IsChannelData(b) {
			h.s.channelData(ft1, b)
			return
		}
		var req stun.Message
		if req.Decode(b) != nil {
			return
		}
		resp := h.raw(ft1, b) // checks the response decodes and matches
		if resp != nil && resp.Type.Method != req.Type.Method {
			t.Fatalf("response method %v to %v", resp.Type.Method, req.Type.Method)
		}
	})
}

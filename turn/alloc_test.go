package turn

import (
	"net/netip"
	"testing"

	"github.com/switchboard/switchboard/stun"
)

// TestRelayPathAllocs asserts that relaying allocates nothing per packet:
// ChannelData and Send indications from the client, and the framing of a
// peer's datagram for the client.
func TestRelayPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	h := newHarness(t, Config{AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	u := alice()
	h.allocate(ft1, u)
	peer := netip.MustParseAddrPort("127.0.0.1:9") // loopback discard port
	if got := errCode(h.do(ft1, bindReq, u, func(m *stun.Message) {
		m.AddChannelNumber(0x4000)
		m.AddXORAddress(stun.AttrXORPeerAddress, peer)
	})); got != 0 {
		t.Fatalf("channel bind: %d", got)
	}
	cd := stun.AppendChannelData(nil, 0x4000, make([]byte, 1000), false)
	var send stun.Message
	send.Reset(stun.Type{Method: stun.MethodSend, Class: stun.ClassIndication}, stun.TransactionID{1})
	send.AddXORAddress(stun.AttrXORPeerAddress, peer)
	send.Add(stun.AttrData, make([]byte, 1000))
	var msg, resp stun.Message
	var dst relayDest
	r := request{msg: &msg, resp: &resp, ft: ft1, dst: &dst}

	l := h.s.relays.loops[0]
	cases := map[string]func(){
		"channel data": func() { h.s.channelData(ft1, cd) },
		"send indication": func() {
			msg.Decode(send.Raw)
			r.now = h.clock()
			h.s.handleSend(&r)
		},
		"frame channel data": func() { l.frame(0, 1000, 0x4000, peer, true) },
		"frame data indication": func() {
			l.frame(1, 1000, 0, netip.MustParseAddrPort("[2001:db8::1]:9"), false)
		},
	}
	for name, f := range cases {
		f()
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per packet", name, n)
		}
	}
	if st := h.s.Stats(); st.PacketsToPeers == 0 {
		t.Fatalf("nothing relayed: %+v", st)
	}
}

// TestFrame checks the in-place framing of peer datagrams.
func TestFrame(t *testing.T) {
	h := newHarness(t, Config{})
	l := h.s.relays.loops[0]
	payload := []byte("hello, peer")
	for _, tc := range []struct {
		peer   string
		stream bool
	}{{"203.0.113.9:4000", false}, {"[2001:db8::9]:4000", true}} {
		peer := netip.MustParseAddrPort(tc.peer)
		buf := l.in.Bufs[2]
		copy(buf[relayHeadroom:], payload)
		pkt := l.frame(2, len(payload), 0, peer, tc.stream)
		var m stun.Message
		if err := m.Decode(pkt); err != nil {
			t.Fatalf("%s: data indication does not decode: %v", tc.peer, err)
		}
		if m.Type != (stun.Type{Method: stun.MethodData, Class: stun.ClassIndication}) || len(pkt)%4 != 0 {
			t.Fatalf("%s: type %v, %d bytes", tc.peer, m.Type, len(pkt))
		}
		got, err := m.GetXORAddress(stun.AttrXORPeerAddress)
		data, _ := m.Get(stun.AttrData)
		if err != nil || got != peer || string(data) != string(payload) {
			t.Fatalf("%s: peer %v data %q (%v)", tc.peer, got, data, err)
		}
		copy(buf[relayHeadroom:], payload)
		pkt = l.frame(2, len(payload), 0x4001, peer, tc.stream)
		ch, data, err := stun.ParseChannelData(pkt)
		if err != nil || ch != 0x4001 || string(data) != string(payload) {
			t.Fatalf("channel data %x %q %v", ch, data, err)
		}
		if tc.stream && len(pkt)%4 != 0 {
			t.Fatalf("stream ChannelData not padded: %d bytes", len(pkt))
		}
	}
}

package turn

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

func TestBucket(t *testing.T) {
	var b bucket
	now := time.Unix(0, 0)
	// A second's worth of burst, then the refill rate.
	if !b.allow(1000, 1000, now) || b.allow(1, 1000, now) {
		t.Fatal("burst")
	}
	if !b.allow(500, 1000, now.Add(500*time.Millisecond)) || b.allow(100, 1000, now.Add(500*time.Millisecond)) {
		t.Fatal("refill")
	}
	if !b.allow(1<<30, -1, now) {
		t.Fatal("negative rate must not cap")
	}
}

// TestMalformedInput sends garbage over UDP and TCP: nothing crashes,
// nothing is answered over UDP, a TCP stream that is neither STUN nor
// ChannelData is closed, and the server still answers Binding requests.
func TestMalformedInput(t *testing.T) {
	s, udpAddr, tcpAddr := startServer(t, Config{})
	u, err := net.Dial("udp4", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var valid stun.Message
	valid.Reset(allocateReq, stun.TransactionID{7})
	valid.AddRequestedTransport(stun.ProtoUDP)
	for i := 0; i < 300; i++ {
		var p []byte
		switch i % 3 {
		case 0: // random bytes
			p = make([]byte, rng.IntN(200))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
		case 1: // a valid message cut short or with a flipped bit
			p = append([]byte(nil), valid.Raw...)
			if rng.IntN(2) == 0 {
				p = p[:rng.IntN(len(p))]
			} else {
				p[rng.IntN(len(p))] ^= 1 << rng.IntN(8)
			}
		case 2: // ChannelData for channels nobody bound
			p = stun.AppendChannelData(nil, 0x4000+uint16(rng.IntN(0x1000)), []byte("x"), false)
		}
		u.Write(p)
	}
	binding := func(c net.Conn) bool {
		var m stun.Message
		m.Reset(stun.BindingRequest, stun.TransactionID{9, 9})
		c.Write(m.Raw)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return false
			}
			var r stun.Message
			if r.Decode(buf[:n]) == nil && r.TransactionID == m.TransactionID && r.Type == stun.BindingSuccess {
				return true
			}
		}
	}
	// Drain the error responses (to the mangled Allocates) first: they can
	// fill the client's socket buffer.
	drain := make([]byte, 1500)
	for {
		u.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := u.Read(drain); err != nil {
			break
		}
	}
	if !binding(u) {
		t.Fatal("no Binding response over UDP after garbage")
	}

	c, err := net.Dial("tcp4", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(bytes.Repeat([]byte{0xFF}, 64)) // first byte 0b11: neither STUN nor ChannelData
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 16)); err != io.EOF {
		t.Fatalf("garbage stream not closed: %v", err)
	}
	c2, err := net.Dial("tcp4", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !binding(c2) {
		t.Fatal("no Binding response over TCP after garbage")
	}
	if st := s.Stats(); st.Allocations != 0 {
		t.Fatalf("allocations from garbage: %+v", st)
	}
}

// TestBandwidthCap relays through an allocation capped far below what is
// sent: the excess is dropped and counted.
func TestBandwidthCap(t *testing.T) {
	s, udpAddr, _ := startServer(t, Config{MaxBitrate: 2000})
	peer := echoPeer(t)
	c := pionClient(t, overUDP, udpAddr, "alice", "secret", "test")
	relay, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	relayEcho(t, relay, peer.LocalAddr(), 1, 100)
	for i := 0; i < 50; i++ {
		relay.WriteTo(make([]byte, 1000), peer.LocalAddr())
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Dropped == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := s.Stats()
	if st.Dropped == 0 || st.BytesToPeers > 4000 {
		t.Fatalf("cap not enforced: %+v", st)
	}
}

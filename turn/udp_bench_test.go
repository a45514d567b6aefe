//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package turn

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// BenchmarkUDPRelay measures one round trip through a UDP allocation served
// by ServeUDP on loopback: ChannelData from the client (RFC 8656 §12.4),
// relayed to a UDP peer that echoes it, relayed back as ChannelData. One
// message in flight, so every packet wakes the relay loop, as in the coturn
// comparison at a fixed rate (bench/turn). allocs/op (-benchmem) counts the
// whole process, whose client and peer do not allocate per packet, so it is
// the relay path's; cpu-µs/op is the whole process's CPU per round trip.
func BenchmarkUDPRelay(b *testing.B) {
	for _, size := range []int{160, 1000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) { benchUDPRelay(b, size) })
	}
}

func benchUDPRelay(b *testing.B, size int) {
	s, err := New(Config{
		Realm:      "test",
		Users:      map[string]string{"alice": "secret"},
		RelayIP:    netip.MustParseAddr("127.0.0.1"),
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBitrate: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServeUDP("127.0.0.1:0") }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-errc
	})
	deadline := time.Now().Add(10 * time.Second)
	for len(s.UDPAddrs()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("ServeUDP did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}

	peer := startEchoPeer(b)

	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(s.UDPAddrs()[0]))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	// Each datagram is one whole STUN message, so the stream client's
	// framing reads them as they come.
	sc := &streamClient{t: b, c: c, buf: make([]byte, 2048)}
	sc.allocate()
	const num = 0x4000
	bindChannel(b, sc, num, peer)
	out := stun.AppendChannelData(nil, num, make([]byte, size), false)
	in := make([]byte, 2048)
	c.SetDeadline(time.Now().Add(time.Minute))
	roundTrip := func() {
		if _, err := c.Write(out); err != nil {
			b.Fatal(err)
		}
		n, err := c.Read(in)
		if err != nil {
			b.Fatal(err)
		}
		if n != len(out) {
			b.Fatalf("got %d bytes back, want %d", n, len(out))
		}
	}
	measureRoundTrips(b, size, roundTrip)
}

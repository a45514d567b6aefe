package turn

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// BenchmarkTCPRelay measures one round trip through a TURN-over-TCP
// allocation on loopback: ChannelData from the client over TCP, relayed to
// a UDP peer that echoes it, relayed back as ChannelData over TCP. One
// message in flight, so every packet wakes the server's reader and relay
// loop, as in the coturn comparison at a fixed rate (bench/turn). cpu-µs/op
// is the whole process's CPU (server, client and peer) per round trip;
// the client and peer are the same for every server change, so it tracks
// the server's cost.
func BenchmarkTCPRelay(b *testing.B) {
	for _, size := range []int{160, 1000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) { benchTCPRelay(b, size) })
	}
}

func benchTCPRelay(b *testing.B, size int) {
	_, tcpAddr, _ := startStreamServer(b, Config{
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBitrate: -1,
	})
	peer := startEchoPeer(b)
	sc := dialStream(b, "tcp", tcpAddr)
	sc.allocate()
	const num = 0x4000
	bindChannel(b, sc, num, peer)
	out := stun.AppendChannelData(nil, num, make([]byte, size), true)
	in := make([]byte, len(out))
	sc.c.SetDeadline(time.Now().Add(time.Minute))
	roundTrip := func() {
		if _, err := sc.c.Write(out); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(in); {
			n, err := sc.c.Read(in[got:])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	measureRoundTrips(b, size, roundTrip)
}

// startEchoPeer starts a UDP peer on loopback that sends every datagram
// back to its sender, until the benchmark ends.
func startEchoPeer(b *testing.B) *net.UDPConn {
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := peer.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			peer.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	b.Cleanup(func() { peer.Close(); <-done })
	return peer
}

// bindChannel binds channel num to peer on sc's allocation.
func bindChannel(b *testing.B, sc *streamClient, num uint16, peer *net.UDPConn) {
	resp := sc.do(stun.Type{Method: stun.MethodChannelBind, Class: stun.ClassRequest}, func(m *stun.Message) {
		m.AddChannelNumber(num)
		m.AddXORAddress(stun.AttrXORPeerAddress, peer.LocalAddr().(*net.UDPAddr).AddrPort())
	})
	if code := errCode(resp); code != 0 {
		b.Fatalf("channel bind: code %d", code)
	}
}

// measureRoundTrips warms up with 100 round trips, then times b.N of them
// and reports the whole process's CPU per round trip (cpu-µs/op) and its
// allocations.
func measureRoundTrips(b *testing.B, size int, roundTrip func()) {
	for i := 0; i < 100; i++ { // warm up: first packets set up state
		roundTrip()
	}
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		roundTrip()
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano()+r1.Stime.Nano()-r0.Utime.Nano()-r0.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.SetBytes(int64(2 * size))
}

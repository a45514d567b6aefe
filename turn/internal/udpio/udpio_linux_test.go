//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package udpio

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func open(t *testing.T, addr string) (int, netip.AddrPort) {
	t.Helper()
	fd, local, err := Open(netip.MustParseAddrPort(addr), 1<<20, false)
	if err != nil {
		t.Skipf("cannot open %s: %v", addr, err)
	}
	t.Cleanup(func() { Close(fd) })
	return fd, local
}

func TestBatchRoundTrip(t *testing.T) {
	for _, family := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(family, func(t *testing.T) {
			a, aAddr := open(t, family)
			b, bAddr := open(t, family)
			v6 := IsV6(a)
			if v6 != (family[0] == '[') {
				t.Fatalf("IsV6 = %v", v6)
			}
			out := NewBatch(8, 0, 0)
			for i := 0; i < 5; i++ {
				out.Pkts[i] = []byte(fmt.Sprintf("packet %d", i))
				out.Addrs[i] = bAddr
			}
			if n, err := out.Send(a, 5, v6); n != 5 || err != nil {
				t.Fatalf("sent %d %v", n, err)
			}
			in := NewBatch(8, 1500, 4)
			got := 0
			deadline := time.Now().Add(5 * time.Second)
			for got < 5 && time.Now().Before(deadline) {
				n, err := in.Recv(b)
				if errors.Is(err, unix.EAGAIN) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					p := string(in.Bufs[i][4 : 4+in.N[i]])
					if p != fmt.Sprintf("packet %d", got) || in.Addrs[i] != aAddr {
						t.Fatalf("slot %d: %q from %v (want from %v)", i, p, in.Addrs[i], aAddr)
					}
					got++
				}
			}
			if got != 5 {
				t.Fatalf("received %d", got)
			}
			if _, err := in.Recv(b); !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("empty socket: %v", err)
			}
			sa := NewSockaddr(bAddr, v6)
			if err := SendTo(a, []byte("one"), sa); err != nil {
				t.Fatal(err)
			}
			if testing.AllocsPerRun(50, func() {
				SendTo(a, []byte("x"), sa)
				in.Recv(b)
			}) != 0 {
				t.Error("SendTo/Recv allocate")
			}
		})
	}
}

func TestPoller(t *testing.T) {
	p, err := NewPoller(16)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _ := open(t, "127.0.0.1:0")
	b, bAddr := open(t, "127.0.0.1:0")
	const tok = uint64(0x1234_5678_9abc)
	if err := p.Add(b, tok); err != nil {
		t.Fatal(err)
	}
	if err := SendTo(a, []byte("hi"), NewSockaddr(bAddr, false)); err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	for len(seen) == 0 {
		if err := p.Wait(func(t uint64) { seen = append(seen, t) }); err != nil {
			t.Fatal(err)
		}
	}
	if seen[0] != tok {
		t.Fatalf("token %x", seen[0])
	}
	p.Del(b)
	p.Wake()
	seen = seen[:0]
	if err := p.Wait(func(t uint64) { seen = append(seen, t) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != WakeToken {
		t.Fatalf("after wake: %x", seen)
	}
}

func TestReleaseAtLeast(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"6.18.44-fc-v445", true},
		{"6.1.0-18-amd64", true},
		{"5.10.0-28-amd64", true},
		{"5.7.0", true},
		{"5.6.19", false},
		{"4.19.0-26-amd64", false},
		{"5", false},
		{"", false},
		{"x.y", false},
	} {
		if got := releaseAtLeast(tc.rel, 5, 7); got != tc.want {
			t.Errorf("releaseAtLeast(%q, 5, 7) = %v", tc.rel, got)
		}
	}
}

// TestPollerRun: Run sees every datagram when each is sent only after the
// previous round ended, i.e. typically while Run is parked without the
// extra epoll_wait, and returns when round says stop.
func TestPollerRun(t *testing.T) {
	p, err := NewPoller(8)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _, err := Open(netip.MustParseAddrPort("127.0.0.1:0"), 1<<16, false)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(a)
	b, bAddr, err := Open(netip.MustParseAddrPort("127.0.0.1:0"), 1<<16, false)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(b)
	if err := p.Add(b, 7); err != nil {
		t.Fatal(err)
	}
	const n = 300
	next := make(chan struct{}, 1)
	quit := make(chan struct{})
	var stalled atomic.Bool
	done := make(chan struct{})
	go func() { // the sender, and a watchdog that turns a lost wake-up into a failure
		defer close(done)
		sa := NewSockaddr(bAddr, false)
		for i := 0; i < n; i++ {
			if err := SendTo(a, []byte{byte(i)}, sa); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-next:
			case <-quit:
				return
			case <-time.After(20 * time.Second):
				stalled.Store(true)
				p.Wake()
				return
			}
		}
	}()
	batch := NewBatch(4, 64, 0)
	got := 0
	err = p.Run(func(tok uint64) {
		if tok != 7 {
			return
		}
		for {
			m, err := batch.Recv(b)
			if err != nil {
				return
			}
			got += m
		}
	}, func() (stop, more bool) {
		if stalled.Load() || got == n {
			return true, false
		}
		select {
		case next <- struct{}{}:
		default:
		}
		return false, false
	})
	close(quit)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if stalled.Load() {
		t.Fatalf("Run missed a datagram: %d of %d after 20 s without progress", got, n)
	}
	if got != n {
		t.Fatalf("got %d datagrams, want %d", got, n)
	}
}

// TestBatchReuse: a batch keeps receiving correctly across calls at
// different offsets, after a truncated datagram, and after being used to
// send (RecvAt lays the receive headers out once and restores only what
// the kernel writes back).
func TestBatchReuse(t *testing.T) {
	a, aAddr := open(t, "127.0.0.1:0")
	b, bAddr := open(t, "127.0.0.1:0")
	sa := NewSockaddr(bAddr, false)
	batch := NewBatch(8, 16, 4)
	recv := func(start int, want ...string) {
		t.Helper()
		got := 0
		deadline := time.Now().Add(5 * time.Second)
		for got < len(want) && time.Now().Before(deadline) {
			n, err := batch.RecvAt(b, start+got)
			if errors.Is(err, unix.EAGAIN) {
				time.Sleep(time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := start + got; i < start+got+n; i++ {
				w := want[i-start]
				if w == "" {
					if batch.N[i] != -1 {
						t.Fatalf("slot %d: oversized datagram has length %d, want -1", i, batch.N[i])
					}
				} else if batch.N[i] < 0 || string(batch.Bufs[i][4:4+batch.N[i]]) != w {
					t.Fatalf("slot %d: %d bytes, want %q", i, batch.N[i], w)
				}
				if batch.Addrs[i] != aAddr {
					t.Fatalf("slot %d: from %v, want %v", i, batch.Addrs[i], aAddr)
				}
			}
			got += n
		}
		if got != len(want) {
			t.Fatalf("received %d of %d", got, len(want))
		}
	}
	send := func(ps ...string) {
		t.Helper()
		for _, p := range ps {
			if err := SendTo(a, []byte(p), sa); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("one", "two")
	recv(0, "one", "two")
	send("three", "a datagram longer than sixteen bytes", "four")
	recv(5, "three", "", "four")
	// Send rewrites the headers for sending; the next RecvAt lays them out again.
	out := batch
	out.Pkts[0], out.Addrs[0] = []byte("five"), bAddr
	if n, err := out.Send(a, 1, false); n != 1 || err != nil {
		t.Fatalf("sent %d %v", n, err)
	}
	out.Pkts[0] = nil
	recv(0, "five")
	send("six")
	recv(2, "six")
}

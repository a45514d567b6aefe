//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package udpio

import (
	"errors"
	"fmt"
	"net/netip"
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

package turn

import (
	"net/netip"
	"runtime"
	"testing"
)

func TestDefaultRelayLoops(t *testing.T) {
	for _, tc := range []struct{ procs, want int }{
		{1, 1}, {2, 1}, {3, 1}, {4, 2}, {5, 2}, {16, 8},
	} {
		if got := defaultRelayLoops(tc.procs); got != tc.want {
			t.Errorf("defaultRelayLoops(%d) = %d, want %d", tc.procs, got, tc.want)
		}
	}
}

func TestLoopDefaults(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	c, err := Config{RelayIP: ip}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if want := defaultRelayLoops(runtime.GOMAXPROCS(0)); c.RelayLoops != want || c.UDPSockets != want {
		t.Errorf("RelayLoops %d, UDPSockets %d; want %d for both", c.RelayLoops, c.UDPSockets, want)
	}
	// UDPSockets follows an explicit RelayLoops; explicit values stay.
	if c, _ := (Config{RelayIP: ip, RelayLoops: 3}).withDefaults(); c.RelayLoops != 3 || c.UDPSockets != 3 {
		t.Errorf("RelayLoops 3: got %d loops, %d sockets", c.RelayLoops, c.UDPSockets)
	}
	if c, _ := (Config{RelayIP: ip, RelayLoops: 2, UDPSockets: 5}).withDefaults(); c.RelayLoops != 2 || c.UDPSockets != 5 {
		t.Errorf("explicit 2/5: got %d loops, %d sockets", c.RelayLoops, c.UDPSockets)
	}
}

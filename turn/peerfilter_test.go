package turn

import (
	"net/netip"
	"testing"
)

func TestPeerFilter(t *testing.T) {
	own := []netip.Addr{netip.MustParseAddr("203.0.113.10")}
	def := newPeerFilter(nil, nil, own)
	loop := newPeerFilter([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil, own)
	extra := newPeerFilter(nil, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, own)
	for _, tc := range []struct {
		f    *peerFilter
		ip   string
		want bool
	}{
		{def, "8.8.8.8", true},
		{def, "2001:4860:4860::8888", true},
		{def, "127.0.0.1", false},
		{def, "127.1.2.3", false},
		{def, "10.1.2.3", false},
		{def, "172.16.0.1", false},
		{def, "172.31.255.255", false},
		{def, "172.32.0.1", true},
		{def, "192.168.1.1", false},
		{def, "100.64.0.1", false},
		{def, "100.127.255.255", false},
		{def, "169.254.169.254", false},
		{def, "0.0.0.0", false},
		{def, "0.1.2.3", false},
		{def, "224.0.0.1", false},
		{def, "239.255.255.250", false},
		{def, "255.255.255.255", false},
		{def, "::", false},
		{def, "::1", false},
		{def, "fd00::1", false},
		{def, "fc00::1", false},
		{def, "fe80::1", false},
		{def, "fe80::1%eth0", false},
		{def, "ff02::1", false},
		// Embedded IPv4 forms, normalised before checking.
		{def, "::ffff:127.0.0.1", false},
		{def, "::ffff:169.254.169.254", false},
		{def, "::ffff:8.8.8.8", true},
		{def, "::127.0.0.1", false},
		{def, "::10.0.0.1", false},
		{def, "::ffff:0:127.0.0.1", false},
		{def, "64:ff9b::127.0.0.1", false},
		{def, "64:ff9b::8.8.8.8", true},
		{def, "2002:7f00:0001::1", false},         // 6to4 of 127.0.0.1
		{def, "2002:a9fe:a9fe::1", false},         // 6to4 of 169.254.169.254
		{def, "2002:0808:0808::1", true},          // 6to4 of 8.8.8.8
		{def, "2001:0:7f00:1::1", false},          // Teredo server 127.0.0.1
		{def, "2001:0:808:808::80ff:fefe", false}, // Teredo client ^ = 127.0.1.1
		{def, "2001:0:808:808::f7f7:f7f7", true},  // Teredo client 8.8.8.8
		// The server's own address.
		{def, "203.0.113.10", false},
		{def, "::ffff:203.0.113.10", false},
		// AllowPeers wins.
		{loop, "127.0.0.1", true},
		{loop, "::ffff:127.0.0.1", true},
		{loop, "10.0.0.1", false},
		// DenyPeers adds.
		{extra, "198.51.100.7", false},
		{extra, "198.51.101.7", true},
	} {
		if got := tc.f.allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s: allowed=%v, want %v", tc.ip, got, tc.want)
		}
	}
}

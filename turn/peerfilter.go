package turn

import (
	"net/netip"
)

// peerFilter decides which peers an allocation may reach. The default
// deny-list keeps a TURN server from becoming a proxy into the networks
// around it (RFC 8656 §21.3.2, §22.10 and the SSRF class of coturn bugs):
//
//   - IPv4: 0.0.0.0/8 (this network), 10/8, 172.16/12, 192.168/16
//     (RFC 1918), 100.64/10 (CGNAT, RFC 6598), 127/8 (loopback),
//     169.254/16 (link-local, including the 169.254.169.254 metadata
//     service), 192.0.0.0/24 (IETF protocol assignments), 224/4
//     (multicast), 240/4 (reserved, broadcast);
//   - IPv6: :: and ::1, fc00::/7 (RFC 4193 unique local), fe80::/10
//     (link-local), fec0::/10 (site-local), ff00::/8 (multicast),
//     100::/64 (discard);
//   - addresses that embed IPv4 are judged by the IPv4 address they carry,
//     after normalising: IPv4-mapped ::ffff:a.b.c.d (the form that slipped
//     past coturn's loopback ban, CVE-2026-27624), IPv4-compatible
//     ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96,
//     6to4 2002::/16 and both IPv4 addresses inside Teredo 2001::/32;
//   - the server's own addresses (relay addresses and the host's
//     interface addresses).
//
// A prefix in Config.AllowPeers wins over all of these; Config.DenyPeers
// adds to them.
type peerFilter struct {
	allow []netip.Prefix
	deny  []netip.Prefix
	own   map[netip.Addr]bool
}

var defaultDeny = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "100::/64",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	prefixNAT64  = netip.MustParsePrefix("64:ff9b::/96")
	prefix6to4   = netip.MustParsePrefix("2002::/16")
	prefixTeredo = netip.MustParsePrefix("2001::/32")
	prefixCompat = netip.MustParsePrefix("::/96")
	prefixXlat   = netip.MustParsePrefix("::ffff:0:0:0/96")
)

func newPeerFilter(allow, deny []netip.Prefix, own []netip.Addr) *peerFilter {
	f := &peerFilter{own: make(map[netip.Addr]bool)}
	for _, p := range allow {
		f.allow = append(f.allow, p.Masked())
	}
	f.deny = append(append(f.deny, defaultDeny...), deny...)
	for _, a := range own {
		f.own[a.Unmap()] = true
	}
	return f
}

// allowed reports whether ip may be a peer.
func (f *peerFilter) allowed(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if f.explicitlyAllowed(ip) {
		return true
	}
	var embedded [3]netip.Addr
	for _, a := range candidates(ip, embedded[:0]) {
		if f.explicitlyAllowed(a) {
			continue
		}
		if f.own[a] {
			return false
		}
		for _, p := range f.deny {
			if p.Contains(a) {
				return false
			}
		}
	}
	return true
}

func (f *peerFilter) explicitlyAllowed(ip netip.Addr) bool {
	for _, p := range f.allow {
		if p.Contains(ip) || (ip.Is4In6() && p.Contains(ip.Unmap())) {
			return true
		}
	}
	return false
}

// candidates returns ip in canonical form followed by every IPv4 address it
// embeds.
func candidates(ip netip.Addr, dst []netip.Addr) []netip.Addr {
	ip = ip.Unmap()
	dst = append(dst, ip)
	if ip.Is4() {
		return dst
	}
	b := ip.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte(b[i : i+4])) }
	switch {
	case prefixCompat.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		dst = append(dst, v4(12)) // ::a.b.c.d (RFC 4291 §2.5.5.1)
	case prefixXlat.Contains(ip), prefixNAT64.Contains(ip):
		dst = append(dst, v4(12)) // ::ffff:0:a.b.c.d (RFC 2765), 64:ff9b::a.b.c.d (RFC 6052)
	case prefix6to4.Contains(ip):
		dst = append(dst, v4(2)) // 2002:AABB:CCDD:: (RFC 3056)
	case prefixTeredo.Contains(ip):
		// RFC 4380 §4: server IPv4 in bits 32-63, client IPv4 obfuscated
		// (inverted) in the last 32 bits.
		var c [4]byte
		for i := range c {
			c[i] = ^b[12+i]
		}
		dst = append(dst, v4(4), netip.AddrFrom4(c))
	}
	return dst
}

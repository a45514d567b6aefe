package main

import (
	"fmt"
	"net/netip"

	"github.com/switchboard/switchboard/internal/origin"
)

// limitsConfig holds the settings of README "Limits": per-address
// connection limits on --listen, the browser origin allow-list, and the
// Socket.IO and signaling limits.
type limitsConfig struct {
	maxConnsPerIP int
	connRatePerIP float64
	exempt        []netip.Prefix
	origins       *origin.List

	sioMaxPayload  int
	sioMessageRate float64
	sioMaxRooms    int
	sioMaxRoomSize int

	sigMaxRoomSize int
	sigMessageRate float64
	sigMaxMessage  int
}

// validate checks the numbers and parses the list flags.
func (l *limitsConfig) validate(exempt, origins []string) error {
	for _, n := range []struct {
		name string
		v    float64
	}{
		{"--max-conns-per-ip", float64(l.maxConnsPerIP)},
		{"--conn-rate-per-ip", l.connRatePerIP},
		{"--sio-message-rate", l.sioMessageRate},
		{"--sio-max-rooms", float64(l.sioMaxRooms)},
		{"--sio-max-room-size", float64(l.sioMaxRoomSize)},
	} {
		if n.v < 0 || n.v != n.v {
			return fmt.Errorf("%s %v: must not be negative", n.name, n.v)
		}
	}
	for _, n := range []struct {
		name string
		v    float64
	}{
		{"--sio-max-payload", float64(l.sioMaxPayload)},
		{"--signal-max-room-size", float64(l.sigMaxRoomSize)},
		{"--signal-message-rate", l.sigMessageRate},
		{"--signal-max-message", float64(l.sigMaxMessage)},
	} {
		if !(n.v > 0) {
			return fmt.Errorf("%s %v: must be positive", n.name, n.v)
		}
	}
	l.exempt = nil
	for _, e := range exempt {
		if e == "none" || e == "" {
			continue
		}
		p, err := netip.ParsePrefix(e)
		if err != nil {
			a, aerr := netip.ParseAddr(e)
			if aerr != nil {
				return fmt.Errorf("--limit-exempt %q: want a CIDR, an address or none", e)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		l.exempt = append(l.exempt, p.Masked())
	}
	var err error
	if l.origins, err = origin.Parse(origins); err != nil {
		return fmt.Errorf("--allowed-origins: %w", err)
	}
	return nil
}

package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Config configures a Server. The zero value of every field means the
// documented default; New validates the whole.
type Config struct {
	// Realm of the long-term credentials (RFC 8489 §9.2). Default
	// "switchboard".
	Realm string
	// Secret enables TURN REST credentials: username "expiry:name" with
	// password base64(HMAC-SHA1(Secret, username)); see RESTCredentials.
	Secret string
	// Users are static long-term users, name to password.
	Users map[string]string
	// RelayIP is the address relayed transport addresses are allocated on.
	// Default: the first non-loopback IPv4 address of the host
	// (DefaultRelayIP).
	RelayIP netip.Addr
	// RelayIPv6, when set, serves Allocate requests with
	// REQUESTED-ADDRESS-FAMILY IPv6 (RFC 6156); without it they get 440.
	RelayIPv6 netip.Addr
	// AllowPeers opens peer ranges that the default deny-list refuses
	// (loopback, private, link-local, the server's own addresses …; see
	// PeerAllowed). An explicit range wins over every default rule.
	AllowPeers []netip.Prefix
	// DenyPeers adds ranges to the deny-list.
	DenyPeers []netip.Prefix
	// PortMin and PortMax bound relay ports. Default 49152-65535
	// (RFC 8656 §7.2 recommends the dynamic range).
	PortMin, PortMax int

	// DefaultLifetime of an allocation when the client asks for less or
	// nothing (RFC 8656 §3.2: 10 minutes). MaxLifetime caps requests
	// (default 1 hour).
	DefaultLifetime, MaxLifetime time.Duration
	// PermissionLifetime (RFC 8656 §9: 300 s) and ChannelLifetime
	// (RFC 8656 §12: 600 s) are fixed by the RFC; zero means those values.
	PermissionLifetime, ChannelLifetime time.Duration
	// NonceLifetime bounds how long a nonce is accepted before 438 Stale
	// Nonce. Default 10 minutes.
	NonceLifetime time.Duration

	// MaxAllocations caps all allocations (default 10000), UserQuota the
	// allocations of one username (default 256), IPQuota those from one
	// client IP address (default 256). Beyond them Allocate gets 486. A
	// negative value means no limit.
	MaxAllocations, UserQuota, IPQuota int
	// MaxTCPConnections caps the peer connections of one TCP allocation
	// (RFC 6062), pending and bound, Connects in progress included
	// (default 32). Past it a Connect gets 486 and a peer's incoming
	// connection is closed at once. A negative value means no limit.
	MaxTCPConnections int
	// MaxBitrate caps the bytes per second one allocation relays, both
	// directions together; excess packets are dropped, and the data
	// connections of a TCP allocation (RFC 6062) are paced to it instead.
	// Default 5 MB/s (40 Mbit/s); negative means no cap.
	MaxBitrate int

	// RelayLoops is the number of event loops reading relay sockets and
	// UDPSockets the number of SO_REUSEPORT sockets ServeUDP opens. Default
	// RelayLoops: half of GOMAXPROCS, at least 1; UDPSockets: RelayLoops.
	// Every loop that parks is one more goroutine the Go runtime's netpoller
	// must hand to a thread when packets arrive; below saturation a loop
	// more than the traffic needs costs CPU per packet (futex wake-ups,
	// smaller batches) and gains nothing (docs/benchmarks-turn.md).
	RelayLoops, UDPSockets int
	// SocketBuffer is the receive and send buffer of the client-facing UDP
	// sockets ServeUDP opens (default 8 MiB). RelayBuffer is that of each
	// relay socket (default 1 MiB).
	SocketBuffer, RelayBuffer int
	// Software, when set, is sent in SOFTWARE attributes.
	Software string

	// IdleTimeout bounds how long TCP and TLS client connections may do
	// nothing useful. One without an allocation is closed between one and
	// two IdleTimeouts after its last complete STUN or ChannelData message
	// (or its accept), whatever partial message it holds. One with an
	// allocation lives as long as the allocation (RFC 8656 §3.2: the
	// allocation belongs to the connection's 5-tuple) and is closed when
	// it is deleted or expires, or earlier when a partial message stays
	// incomplete for two to three IdleTimeouts (slowloris). Default 30 s.
	IdleTimeout time.Duration

	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// bindTimeout is how long a peer data connection waits for its
	// ConnectionBind (RFC 6062 §5.3: 30 s); tests shorten it.
	bindTimeout time.Duration
}

// Defaults.
const (
	DefaultRealm             = "switchboard"
	defaultPortMin           = 49152
	defaultPortMax           = 65535
	defaultLifetime          = 10 * time.Minute
	defaultMaxLifetime       = time.Hour
	defaultPermLifetime      = 300 * time.Second
	defaultChanLifetime      = 600 * time.Second
	defaultNonceLifetime     = 10 * time.Minute
	defaultIdleTimeout       = 30 * time.Second
	defaultMaxAllocations    = 10000
	defaultUserQuota         = 256
	defaultIPQuota           = 256
	defaultMaxBitrate        = 5 << 20
	defaultMaxTCPConnections = 32
	defaultSocketBuffer      = 8 << 20
	defaultRelayBuffer       = 1 << 20
)

// withDefaults returns c with zero fields replaced by defaults, or an error
// naming the first invalid setting.
func (c Config) withDefaults() (Config, error) {
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if !c.RelayIP.IsValid() {
		ip, err := DefaultRelayIP()
		if err != nil {
			return c, err
		}
		c.RelayIP = ip
	}
	c.RelayIP = c.RelayIP.Unmap()
	if !c.RelayIP.Is4() {
		return c, fmt.Errorf("turn: RelayIP %v is not an IPv4 address (use RelayIPv6 for IPv6)", c.RelayIP)
	}
	if c.RelayIPv6.IsValid() && (!c.RelayIPv6.Is6() || c.RelayIPv6.Is4In6()) {
		return c, fmt.Errorf("turn: RelayIPv6 %v is not an IPv6 address", c.RelayIPv6)
	}
	if c.PortMin == 0 {
		c.PortMin = defaultPortMin
	}
	if c.PortMax == 0 {
		c.PortMax = defaultPortMax
	}
	if c.PortMin < 1 || c.PortMax > 65535 || c.PortMin > c.PortMax {
		return c, fmt.Errorf("turn: invalid relay port range %d-%d", c.PortMin, c.PortMax)
	}
	defDur := func(d *time.Duration, def time.Duration, name string) error {
		if *d == 0 {
			*d = def
		}
		if *d < 0 {
			return fmt.Errorf("turn: %s must not be negative", name)
		}
		return nil
	}
	for _, x := range []struct {
		d    *time.Duration
		def  time.Duration
		name string
	}{
		{&c.DefaultLifetime, defaultLifetime, "DefaultLifetime"},
		{&c.MaxLifetime, defaultMaxLifetime, "MaxLifetime"},
		{&c.PermissionLifetime, defaultPermLifetime, "PermissionLifetime"},
		{&c.ChannelLifetime, defaultChanLifetime, "ChannelLifetime"},
		{&c.NonceLifetime, defaultNonceLifetime, "NonceLifetime"},
		{&c.IdleTimeout, defaultIdleTimeout, "IdleTimeout"},
	} {
		if err := defDur(x.d, x.def, x.name); err != nil {
			return c, err
		}
	}
	if c.MaxLifetime < c.DefaultLifetime {
		return c, errors.New("turn: MaxLifetime is shorter than DefaultLifetime")
	}
	defInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	defInt(&c.MaxAllocations, defaultMaxAllocations)
	defInt(&c.UserQuota, defaultUserQuota)
	defInt(&c.IPQuota, defaultIPQuota)
	defInt(&c.MaxBitrate, defaultMaxBitrate)
	defInt(&c.MaxTCPConnections, defaultMaxTCPConnections)
	if c.MaxTCPConnections < 0 {
		c.MaxTCPConnections = math.MaxInt
	}
	if c.bindTimeout == 0 {
		c.bindTimeout = tcpBindTimeout
	}
	defInt(&c.RelayLoops, defaultRelayLoops(runtime.GOMAXPROCS(0)))
	defInt(&c.UDPSockets, c.RelayLoops)
	defInt(&c.SocketBuffer, defaultSocketBuffer)
	defInt(&c.RelayBuffer, defaultRelayBuffer)
	if c.RelayLoops < 0 || c.UDPSockets < 0 || c.SocketBuffer < 0 || c.RelayBuffer < 0 {
		return c, errors.New("turn: RelayLoops, UDPSockets and buffer sizes must not be negative")
	}
	for name := range c.Users {
		if name == "" || strings.ContainsAny(name, "\x00") {
			return c, fmt.Errorf("turn: invalid user name %q", name)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// defaultRelayLoops is the RelayLoops default for procs Ps: half of them,
// at least one. Measured on 2 vCPUs at 100 allocations × 10k round trips/s
// (docs/benchmarks-turn.md), one loop cost ~30 % less server CPU per round
// trip than two (futex wake-ups per round trip 0.005 instead of 0.19) and
// the same at saturation.
func defaultRelayLoops(procs int) int { return max(1, procs/2) }

// ParseUser parses a "NAME=PASS" flag value (--turn-user).
func ParseUser(s string) (name, password string, err error) {
	name, password, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", "", fmt.Errorf("turn: user %q is not NAME=PASS", s)
	}
	return name, password, nil
}

// ParsePeerPrefix parses a --turn-allow-peer value: a CIDR prefix or a
// single address (a /32 or /128).
func ParsePeerPrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("turn: %q is not a CIDR prefix or address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// DefaultRelayIP returns the first non-loopback IPv4 address of the host's
// interfaces (the --turn-relay-ip default).
func DefaultRelayIP() (netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("turn: listing interface addresses: %w", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				ip = ip.Unmap()
				if ip.Is4() && !ip.IsLoopback() {
					return ip, nil
				}
			}
		}
	}
	return netip.Addr{}, errors.New("turn: no non-loopback IPv4 address for RelayIP; set it explicitly")
}

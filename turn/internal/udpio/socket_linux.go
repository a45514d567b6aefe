//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package udpio

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Open creates a non-blocking UDP socket bound to addr. bufSize, when
// positive, sets SO_RCVBUF and SO_SNDBUF (forcing past the sysctl limits
// when the process may). reusePort sets SO_REUSEPORT so that several sockets
// can share one port and the kernel spreads flows across them. It returns
// the socket and the address it is bound to.
func Open(addr netip.AddrPort, bufSize int, reusePort bool) (fd int, local netip.AddrPort, err error) {
	family := unix.AF_INET
	if addr.Addr().Is6() && !addr.Addr().Is4In6() {
		family = unix.AF_INET6
	}
	fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, netip.AddrPort{}, fmt.Errorf("udpio: socket: %w", err)
	}
	fail := func(what string, e error) (int, netip.AddrPort, error) {
		unix.Close(fd)
		return -1, netip.AddrPort{}, fmt.Errorf("udpio: %s %v: %w", what, addr, e)
	}
	if reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if bufSize > 0 {
		SetBuffers(fd, bufSize)
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().Unmap().As4()}
	} else {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	local, err = LocalAddr(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, local, nil
}

// SetBuffers sets SO_RCVBUF and SO_SNDBUF to size, using the *FORCE
// variants first (they ignore net.core.rmem_max when the process has
// CAP_NET_ADMIN). Failures are ignored: the kernel default still works.
func SetBuffers(fd, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, size)
	}
}

// SetDontFragment sets the DF bit on datagrams sent from fd
// (IP_MTU_DISCOVER = IP_PMTUDISC_DO; IPV6_DONTFRAG for IPv6), which
// RFC 8656 §7.2 asks for when an Allocate carries DONT-FRAGMENT.
func SetDontFragment(fd int, v6 bool) error {
	if v6 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_DONTFRAG, 1)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
}

// LocalAddr returns the address fd is bound to.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("udpio: unexpected socket address %T", sa)
}

// IsV6 reports whether fd is an AF_INET6 socket.
func IsV6(fd int) bool {
	d, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	return err == nil && d == unix.AF_INET6
}

// Close closes fd.
func Close(fd int) error { return unix.Close(fd) }

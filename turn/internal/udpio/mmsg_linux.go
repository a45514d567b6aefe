//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package udpio

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batch is a reusable set of datagram slots for recvmmsg and sendmmsg
// (recvmmsg(2), sendmmsg(2)). It is not safe for concurrent use.
type Batch struct {
	// Bufs are the receive buffers, one per slot. Recv reads slot i into
	// Bufs[i][Headroom:], leaving room in front for a header to be written
	// in place (ChannelData, Data indication).
	Bufs     [][]byte
	Headroom int
	// N holds the received length per slot after Recv, -1 for a datagram
	// that did not fit its buffer.
	N []int
	// Addrs holds the source address per slot after Recv, and the
	// destination per slot for Send.
	Addrs []netip.AddrPort
	// Pkts holds the datagrams to send per slot for Send.
	Pkts [][]byte

	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	// recvReady: every slot's header describes its receive buffer. The
	// kernel writes back only msg_len, msg_namelen, msg_flags and
	// msg_controllen of the slots it filled, so RecvAt restores those
	// instead of laying out all the headers before every call.
	recvReady bool
}

// NewBatch returns a batch of n slots with receive buffers of size bytes
// after headroom bytes.
func NewBatch(n, size, headroom int) *Batch {
	b := &Batch{
		Bufs:     make([][]byte, n),
		Headroom: headroom,
		N:        make([]int, n),
		Addrs:    make([]netip.AddrPort, n),
		Pkts:     make([][]byte, n),
		hdrs:     make([]unix.Mmsghdr, n),
		iovs:     make([]unix.Iovec, n),
		names:    make([]unix.RawSockaddrInet6, n),
	}
	if size > 0 {
		backing := make([]byte, n*(headroom+size))
		for i := range b.Bufs {
			b.Bufs[i] = backing[i*(headroom+size) : (i+1)*(headroom+size) : (i+1)*(headroom+size)]
		}
	}
	return b
}

// Len is the number of slots.
func (b *Batch) Len() int { return len(b.hdrs) }

// Recv receives up to Len datagrams from fd without blocking
// (MSG_DONTWAIT). It returns unix.EAGAIN when nothing is queued.
func (b *Batch) Recv(fd int) (int, error) { return b.RecvAt(fd, 0) }

// RecvAt is Recv into slots start and up, so that datagrams from several
// sockets can share one batch; it returns how many slots it filled. The
// headers point at Bufs as they were at the first RecvAt after NewBatch or
// Send: callers must not replace Bufs[i].
func (b *Batch) RecvAt(fd int, start int) (int, error) {
	if !b.recvReady {
		for i := range b.hdrs {
			buf := b.Bufs[i][b.Headroom:]
			b.iovs[i].Base = &buf[0]
			b.iovs[i].SetLen(len(buf))
			h := &b.hdrs[i].Hdr
			h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
			h.Iov = &b.iovs[i]
			h.Iovlen = 1
			b.resetRecv(i)
		}
		b.recvReady = true
	}
	n, err := mmsg(unix.SYS_RECVMMSG, fd, b.hdrs[start:], unix.MSG_DONTWAIT)
	if err != nil {
		if start < len(b.hdrs) {
			b.resetRecv(start)
		}
		return 0, err
	}
	for i := start; i < start+n; i++ {
		b.N[i] = int(b.hdrs[i].Len)
		if b.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			b.N[i] = -1 // larger than the buffer: the caller drops it
		}
		b.Addrs[i] = decodeSockaddr(&b.names[i])
		b.resetRecv(i)
	}
	return n, nil
}

// resetRecv restores the header fields recvmmsg writes back.
func (b *Batch) resetRecv(i int) {
	h := &b.hdrs[i].Hdr
	h.Namelen = unix.SizeofSockaddrInet6
	h.Control = nil
	h.Controllen = 0
	h.Flags = 0
}

// Send sends Pkts[i] to Addrs[i] for i < n on fd without blocking. v6
// tells whether fd is an AF_INET6 socket (IPv4 destinations are then
// v4-mapped). It returns how many were sent; a datagram the kernel refuses
// (full buffer) is dropped, as UDP allows, and the rest are still tried.
func (b *Batch) Send(fd int, n int, v6 bool) (int, error) {
	b.recvReady = false
	sent := 0
	for i := 0; i < n; i++ {
		p := b.Pkts[i]
		if len(p) == 0 {
			b.iovs[i].Base = nil
		} else {
			b.iovs[i].Base = &p[0]
		}
		b.iovs[i].SetLen(len(p))
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Namelen = encodeSockaddr(&b.names[i], b.Addrs[i], v6)
		h.Iov = &b.iovs[i]
		h.Iovlen = 1
		h.Control = nil
		h.Controllen = 0
		h.Flags = 0
	}
	var firstErr error
	for off := 0; off < n; {
		k, err := mmsg(unix.SYS_SENDMMSG, fd, b.hdrs[off:n], unix.MSG_DONTWAIT)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			off++ // drop the datagram that failed and go on
			continue
		}
		sent += k
		off += k
	}
	return sent, firstErr
}

func mmsg(trap uintptr, fd int, hdrs []unix.Mmsghdr, flags int) (int, error) {
	if len(hdrs) == 0 {
		return 0, nil
	}
	for {
		// RawSyscall: the call never blocks (MSG_DONTWAIT), and
		// entersyscall would wake sysmon from its idle sleep on every
		// packet of a quiet server, which costs two context switches.
		r, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), uintptr(flags), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// SendTo sends one datagram without blocking. sa must come from
// [Sockaddr] so that no allocation happens here.
func SendTo(fd int, p []byte, sa *Sockaddr) error {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(base), uintptr(len(p)), // non-blocking; see mmsg
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa.raw)), uintptr(sa.len))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// Sockaddr is a pre-encoded destination for SendTo.
type Sockaddr struct {
	raw unix.RawSockaddrInet6
	len uint32
}

// NewSockaddr encodes ap for a socket of the given family (v6: AF_INET6).
func NewSockaddr(ap netip.AddrPort, v6 bool) *Sockaddr {
	sa := &Sockaddr{}
	sa.len = encodeSockaddr(&sa.raw, ap, v6)
	return sa
}

func decodeSockaddr(rsa *unix.RawSockaddrInet6) netip.AddrPort {
	b := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(rsa))
	port := binary.BigEndian.Uint16(b[2:4])
	switch rsa.Family {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(rsa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

func encodeSockaddr(rsa *unix.RawSockaddrInet6, ap netip.AddrPort, v6 bool) uint32 {
	*rsa = unix.RawSockaddrInet6{}
	b := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(rsa))
	binary.BigEndian.PutUint16(b[2:4], ap.Port())
	ip := ap.Addr()
	if !v6 {
		rsa.Family = unix.AF_INET
		a := ip.Unmap().As4()
		copy(b[4:8], a[:])
		return unix.SizeofSockaddrInet4
	}
	rsa.Family = unix.AF_INET6
	rsa.Addr = ip.As16() // IPv4 becomes ::ffff:a.b.c.d
	return unix.SizeofSockaddrInet6
}

// Set encodes ap into sa in place for a socket of the given family.
func (sa *Sockaddr) Set(ap netip.AddrPort, v6 bool) {
	sa.len = encodeSockaddr(&sa.raw, ap, v6)
}

// Write writes b to a non-blocking descriptor once (see mmsg for why it is
// a raw system call).
func Write(fd int, b []byte) (int, error) {
	var base unsafe.Pointer
	if len(b) > 0 {
		base = unsafe.Pointer(&b[0])
	}
	for {
		r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(base), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Read reads from a non-blocking descriptor once (see mmsg for why it is a
// raw system call). It returns unix.EAGAIN when nothing is there, and 0,
// nil at end of stream.
func Read(fd int, b []byte) (int, error) {
	var base unsafe.Pointer
	if len(b) > 0 {
		base = unsafe.Pointer(&b[0])
	}
	for {
		r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(base), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

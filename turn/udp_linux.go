//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/switchboard/switchboard/stun"
	"github.com/switchboard/switchboard/turn/internal/udpio"
	"golang.org/x/sys/unix"
)

// udpGroup is a set of client-facing UDP sockets bound to one address
// (SO_REUSEPORT); any of them can send as that address.
type udpGroup struct {
	fds   []int
	v6    bool
	local netip.AddrPort // as bound; the server side of every 5-tuple
}

func (g *udpGroup) fd(i int) int { return g.fds[i%len(g.fds)] }

// udpSink reaches a UDP client through a group. Relay loops batch what
// they send to it (relayLoop.queue); send is for everything else.
type udpSink struct {
	g    *udpGroup
	addr netip.AddrPort
}

func (u *udpSink) send(b []byte) {
	udpio.SendTo(u.g.fd(0), b, udpio.NewSockaddr(u.addr, u.g.v6))
}

func (u *udpSink) stream() bool { return false }

// udpPacket handles one datagram from a UDP client: ChannelData goes to its
// peer, a STUN request is answered through reply. req, resp and dst are the
// caller's scratch; home is the relay loop reading, if one is.
func (s *Server) udpPacket(home *relayLoop, g *udpGroup, b []byte, from netip.AddrPort, req, resp *stun.Message, dst *relayDest, reply func([]byte, netip.AddrPort)) {
	ft := fiveTuple{client: from, server: g.local, proto: transportUDP}
	if stun.IsChannelData(b) {
		s.channelData(ft, b)
		return
	}
	if !stun.IsMessage(b) || req.Decode(b) != nil {
		return // RFC 8489 §6.3: not STUN, silently discarded
	}
	r := request{msg: req, resp: resp, ft: ft, now: s.now(), dst: dst, home: home}
	if req.Type.Method == stun.MethodAllocate {
		r.sink = &udpSink{g: g, addr: from}
	}
	if s.handle(&r) {
		reply(resp.Raw, from)
	}
}

// ServeUDP listens on addr ("host:port", e.g. ":3478" or "127.0.0.1:0")
// and serves STUN and TURN until Shutdown, when it returns
// ErrServerClosed. It opens UDPSockets SO_REUSEPORT sockets with
// SocketBuffer bytes of kernel buffer each and hands them to the relay
// loops, which read them with recvmmsg beside the relay sockets: a
// relayed packet never leaves the thread that received it. A host name
// or an empty host listens on the IPv4 wildcard; give "[::]:port" for
// IPv6.
func (s *Server) ServeUDP(addr string) error {
	ap, err := resolveUDP(addr)
	if err != nil {
		return err
	}
	if err := s.start(); err != nil {
		return err
	}
	g := &udpGroup{}
	closeAll := func() {
		for _, fd := range g.fds {
			udpio.Close(fd)
		}
	}
	for i := 0; i < s.cfg.UDPSockets; i++ {
		fd, local, err := udpio.Open(ap, s.cfg.SocketBuffer, true)
		if err != nil {
			closeAll()
			return fmt.Errorf("turn: listen udp %s: %w", addr, err)
		}
		g.fds = append(g.fds, fd)
		ap = local // later sockets share the port actually bound
		g.local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
		g.v6 = local.Addr().Is6() && !local.Addr().Is4In6()
	}
	if err := s.relays.addGroup(g); err != nil {
		closeAll()
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed // the loops close the group's sockets
	}
	s.udpAddrs = append(s.udpAddrs, g.local)
	s.mu.Unlock()
	<-s.done
	<-s.relays.stopped
	return ErrServerClosed
}

func resolveUDP(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("turn: udp address %q: %w", addr, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	ua, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("turn: udp address %q: %w", addr, err)
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// UDPAddrs returns the addresses ServeUDP is serving, once it serves them.
func (s *Server) UDPAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.AddrPort(nil), s.udpAddrs...)
}

// ServePacket serves STUN and TURN on pc until Shutdown. A *net.UDPConn is
// read with recvmmsg by one goroutine; other PacketConns one datagram at
// a time. ServeUDP is the faster path.
func (s *Server) ServePacket(pc net.PacketConn) error {
	u, ok := pc.(*net.UDPConn)
	if !ok {
		return s.servePacketConn(pc)
	}
	if err := s.start(); err != nil {
		pc.Close()
		return err
	}
	if !s.trackPacket(pc, true) {
		pc.Close()
		return ErrServerClosed
	}
	defer s.trackPacket(pc, false)
	c := &udpConnReader{s: s, pc: u, batch: udpio.NewBatch(udpSlots, udpMaxRead, 0)}
	rc, err := u.SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return err
	}
	local, err := udpio.LocalAddr(fd)
	if err != nil {
		return err
	}
	c.g = &udpGroup{fds: []int{fd}, v6: udpio.IsV6(fd), local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port())}
	c.readFn = c.read
	c.replyFn = c.reply
	var wg sync.WaitGroup
	wg.Add(1)
	var serveErr error
	if !s.goTrack(func() { defer wg.Done(); serveErr = c.serve(rc) }) {
		return ErrServerClosed
	}
	wg.Wait()
	select {
	case <-s.done:
		return ErrServerClosed
	default:
	}
	return serveErr
}

const (
	udpSlots   = 64
	udpMaxRead = 65536 + 4
)

// udpConnReader reads a caller's *net.UDPConn in batches on one goroutine.
type udpConnReader struct {
	s       *Server
	pc      *net.UDPConn
	g       *udpGroup
	batch   *udpio.Batch
	n       int
	err     error
	readFn  func(uintptr) bool
	replyFn func([]byte, netip.AddrPort)
	req     stun.Message
	resp    stun.Message
	dst     relayDest
}

// read is the RawConn.Read callback: one recvmmsg, and false on EAGAIN so
// the runtime parks the goroutine until the socket is readable.
func (c *udpConnReader) read(fd uintptr) bool {
	n, err := c.batch.Recv(int(fd))
	if errors.Is(err, unix.EAGAIN) {
		return false
	}
	c.n, c.err = n, err
	return true
}

func (c *udpConnReader) reply(b []byte, to netip.AddrPort) { c.pc.WriteToUDPAddrPort(b, to) }

func (c *udpConnReader) serve(rc syscall.RawConn) error {
	for {
		if err := rc.Read(c.readFn); err != nil {
			return err
		}
		if c.err != nil {
			// ICMP errors queued on the socket (ECONNREFUSED …) concern
			// one earlier datagram, not the socket.
			continue
		}
		for i := 0; i < c.n; i++ {
			if c.batch.N[i] >= 0 {
				c.s.udpPacket(nil, c.g, c.batch.Bufs[i][:c.batch.N[i]], c.batch.Addrs[i], &c.req, &c.resp, &c.dst, c.replyFn)
			}
		}
	}
}

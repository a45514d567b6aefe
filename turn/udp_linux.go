//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package turn

import (
	"context"
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

// udpGroup is the set of sockets bound to one address with SO_REUSEPORT;
// any of them can send as that address.
type udpGroup struct{ ls []*udpListener }

func (g *udpGroup) fd(i int) int { return g.ls[i%len(g.ls)].fd }

// udpListener reads one client-facing UDP socket in batches (recvmmsg)
// on one goroutine.
type udpListener struct {
	s      *Server
	pc     *net.UDPConn
	rc     syscall.RawConn
	fd     int
	v6     bool
	local  netip.AddrPort
	group  *udpGroup
	batch  *udpio.Batch
	n      int
	err    error
	readFn func(uintptr) bool
	req    stun.Message
	resp   stun.Message
	dst    relayDest
}

// udpSink reaches a UDP client through its listener group.
type udpSink struct {
	l    *udpListener
	addr netip.AddrPort
}

func (u *udpSink) send(b []byte) {
	u.l.pc.WriteToUDPAddrPort(b, u.addr)
}

func (u *udpSink) stream() bool { return false }

const (
	udpSlots   = 64
	udpMaxRead = 65536 + 4
)

func newUDPListener(s *Server, pc *net.UDPConn, g *udpGroup) (*udpListener, error) {
	rc, err := pc.SyscallConn()
	if err != nil {
		return nil, err
	}
	l := &udpListener{s: s, pc: pc, rc: rc, group: g, batch: udpio.NewBatch(udpSlots, udpMaxRead, 0)}
	if err := rc.Control(func(fd uintptr) { l.fd = int(fd) }); err != nil {
		return nil, err
	}
	l.v6 = udpio.IsV6(l.fd)
	local, err := udpio.LocalAddr(l.fd)
	if err != nil {
		return nil, err
	}
	l.local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	l.readFn = l.read
	return l, nil
}

// read is the RawConn.Read callback: one recvmmsg, and false on EAGAIN so
// the runtime parks the goroutine until the socket is readable.
func (l *udpListener) read(fd uintptr) bool {
	n, err := l.batch.Recv(int(fd))
	if errors.Is(err, unix.EAGAIN) {
		return false
	}
	l.n, l.err = n, err
	return true
}

func (l *udpListener) serve() error {
	for {
		if err := l.rc.Read(l.readFn); err != nil {
			return err
		}
		if l.err != nil {
			// ICMP errors queued on the socket (ECONNREFUSED …) surface
			// here; they concern one earlier datagram, not the socket.
			continue
		}
		for i := 0; i < l.n; i++ {
			if l.batch.N[i] < 0 {
				continue
			}
			l.packet(l.batch.Bufs[i][:l.batch.N[i]], l.batch.Addrs[i])
		}
	}
}

func (l *udpListener) packet(b []byte, from netip.AddrPort) {
	ft := fiveTuple{client: from, server: l.local, proto: transportUDP}
	if stun.IsChannelData(b) {
		l.s.channelData(ft, b)
		return
	}
	if !stun.IsMessage(b) || l.req.Decode(b) != nil {
		return // RFC 8489 §6.3: not STUN, silently discarded
	}
	r := request{msg: &l.req, resp: &l.resp, ft: ft, now: l.s.now(), dst: &l.dst}
	if l.req.Type.Method == stun.MethodAllocate {
		r.sink = &udpSink{l: l, addr: from}
	}
	if l.s.handle(&r) {
		l.pc.WriteToUDPAddrPort(l.resp.Raw, from)
	}
}

// ServeUDP listens on addr ("host:port", e.g. ":3478") with UDPSockets
// SO_REUSEPORT sockets, each with SocketBuffer-sized kernel buffers and its
// own reader, and serves STUN and TURN on them until Shutdown. It returns
// ErrServerClosed after Shutdown.
func (s *Server) ServeUDP(addr string) error {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			udpio.SetBuffers(int(fd), s.cfg.SocketBuffer)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	var pcs []*net.UDPConn
	for i := 0; i < s.cfg.UDPSockets; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, p := range pcs {
				p.Close()
			}
			return fmt.Errorf("turn: listen udp %s: %w", addr, err)
		}
		pcs = append(pcs, pc.(*net.UDPConn))
		addr = pc.LocalAddr().String() // later sockets share the port actually bound
	}
	return s.serveUDPGroup(pcs)
}

// ServePacket serves STUN and TURN on pc until Shutdown. A *net.UDPConn is
// read in batches; other PacketConns one datagram at a time.
func (s *Server) ServePacket(pc net.PacketConn) error {
	if u, ok := pc.(*net.UDPConn); ok {
		return s.serveUDPGroup([]*net.UDPConn{u})
	}
	return s.servePacketConn(pc)
}

func (s *Server) serveUDPGroup(pcs []*net.UDPConn) error {
	if err := s.start(); err != nil {
		for _, pc := range pcs {
			pc.Close()
		}
		return err
	}
	g := &udpGroup{}
	for _, pc := range pcs {
		l, err := newUDPListener(s, pc, g)
		if err != nil {
			for _, pc := range pcs {
				pc.Close()
			}
			return err
		}
		g.ls = append(g.ls, l)
	}
	for _, pc := range pcs {
		if !s.trackPacket(pc, true) {
			for _, pc := range pcs {
				pc.Close()
			}
			return ErrServerClosed
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(g.ls))
	for i, l := range g.ls {
		wg.Add(1)
		if !s.goTrack(func() {
			defer wg.Done()
			errs[i] = l.serve()
		}) {
			wg.Done()
			pcs[i].Close()
		}
	}
	wg.Wait()
	for _, pc := range pcs {
		s.trackPacket(pc, false)
		pc.Close()
	}
	select {
	case <-s.done:
		return ErrServerClosed
	default:
	}
	return errors.Join(errs...)
}

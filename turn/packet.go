package turn

import (
	"net"
	"net/netip"

	"github.com/switchboard/switchboard/stun"
)

// packetSink reaches a client through a generic net.PacketConn.
type packetSink struct {
	pc   net.PacketConn
	addr net.Addr
}

func (p *packetSink) send(b []byte) { p.pc.WriteTo(b, p.addr) }
func (p *packetSink) stream() bool  { return false }

// servePacketConn serves a PacketConn that is not a *net.UDPConn, one
// datagram per ReadFrom.
func (s *Server) servePacketConn(pc net.PacketConn) error {
	if err := s.start(); err != nil {
		pc.Close()
		return err
	}
	if !s.trackPacket(pc, true) {
		pc.Close()
		return ErrServerClosed
	}
	defer s.trackPacket(pc, false)
	local := addrPort(pc.LocalAddr())
	var req, resp stun.Message
	var dst relayDest
	buf := make([]byte, 65536+4)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return err
		}
		b := buf[:n]
		client := addrPort(from)
		ft := fiveTuple{client: netip.AddrPortFrom(client.Addr().Unmap(), client.Port()), server: local, proto: transportUDP}
		if stun.IsChannelData(b) {
			s.channelData(ft, b)
			continue
		}
		if !stun.IsMessage(b) || req.Decode(b) != nil {
			continue
		}
		r := request{msg: &req, resp: &resp, ft: ft, now: s.now(), dst: &dst, sink: &packetSink{pc: pc, addr: from}}
		if s.handle(&r) {
			pc.WriteTo(resp.Raw, from)
		}
	}
}

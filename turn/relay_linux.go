//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package turn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/switchboard/switchboard/stun"
	"github.com/switchboard/switchboard/turn/internal/udpio"
	"golang.org/x/sys/unix"
)

// relayDest is a peer address pre-encoded for sendto.
type relayDest = udpio.Sockaddr

// relaySocket is an allocation's relayed transport address: a raw,
// non-blocking UDP socket watched by one relay loop. It has no goroutine.
type relaySocket struct {
	fd   int
	addr netip.AddrPort
	v6   bool
	loop *relayLoop
}

// relayPool opens relay sockets and spreads them over the relay loops.
type relayPool struct {
	s       *Server
	loops   []*relayLoop
	next    atomic.Uint32
	wg      sync.WaitGroup
	mu      sync.Mutex
	state   int // 0 not started, 1 running, 2 stopped
	stopped chan struct{}
	// clients are the client-facing sockets of ServeUDP, indexed by their
	// token's low bits; the slice is replaced, never modified, so loops
	// read it without a lock.
	clients atomic.Pointer[[]*clientSocket]
}

// clientSocket is one ServeUDP socket, read by one loop.
type clientSocket struct {
	fd int
	g  *udpGroup
}

// Tokens with this bit set name client sockets; the others allocations.
const clientToken = uint64(1) << 62

func newRelayPool(s *Server) *relayPool { return &relayPool{s: s, stopped: make(chan struct{})} }

// addGroup hands a group's sockets to the loops, one loop per socket in
// turn. The loops close them when they stop.
func (p *relayPool) addGroup(g *udpGroup) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != 1 {
		return ErrServerClosed
	}
	var cur []*clientSocket
	if old := p.clients.Load(); old != nil {
		cur = *old
	}
	next := append([]*clientSocket(nil), cur...)
	for i, fd := range g.fds {
		next = append(next, &clientSocket{fd: fd, g: g})
		if err := p.loops[i%len(p.loops)].p.Add(fd, clientToken|uint64(len(next)-1)); err != nil {
			return err
		}
	}
	p.clients.Store(&next)
	return nil
}

// Relay loop buffer layout: each slot has headroom in front of the payload
// so that a ChannelData header (4 bytes) or a Data indication's header and
// attributes (at most 20+24+4 = 48 bytes) is written in place, and 4 bytes
// of tail room for padding over streams.
const (
	relayHeadroom = 48
	relaySlots    = 64
	relayMaxData  = 65536 // larger datagrams are dropped
)

func (p *relayPool) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != 0 {
		return nil
	}
	for i := 0; i < p.s.cfg.RelayLoops; i++ {
		poller, err := udpio.NewPoller(256)
		if err != nil {
			for _, l := range p.loops {
				l.p.Close()
			}
			p.loops = nil
			return err
		}
		l := &relayLoop{s: p.s, idx: i, p: poller,
			in:  udpio.NewBatch(relaySlots, relayMaxData+4, relayHeadroom),
			out: udpio.NewBatch(relaySlots, 0, 0),
			cin: udpio.NewBatch(udpSlots, udpMaxRead, 0),
			rng: rand.NewPCG(rand.Uint64(), rand.Uint64()),
		}
		l.onEventFn = l.onEvent
		l.roundFn = func() (stop, more bool) {
			more, stop = l.endRound()
			return stop, more
		}
		l.replyFn = l.reply
		p.loops = append(p.loops, l)
	}
	p.state = 1
	for _, l := range p.loops {
		p.wg.Add(1)
		go l.run(&p.wg)
	}
	return nil
}

func (p *relayPool) stop() {
	p.mu.Lock()
	if p.state != 1 {
		if p.state == 0 {
			close(p.stopped)
		}
		p.state = 2
		p.mu.Unlock()
		return
	}
	p.state = 2
	for _, l := range p.loops {
		l.stopping.Store(true)
		l.p.Wake()
	}
	p.mu.Unlock()
	p.wg.Wait()
	for _, l := range p.loops {
		l.p.Close()
	}
	if cs := p.clients.Load(); cs != nil {
		for _, c := range *cs {
			udpio.Close(c.fd)
		}
	}
	close(p.stopped)
}

// open binds a relay socket on ip at a port from the configured range,
// starting at a random one (RFC 8656 §7.2 step 7 asks for unpredictable
// ports). even asks for an even port (EVEN-PORT); pair additionally binds
// the next port, returned as the second socket, for a reservation
// (EVEN-PORT with R set); df sets DF. home, when set, is the loop that
// read the Allocate: the relay socket joins it, so both directions of the
// allocation's traffic are handled by one loop (nil: round robin).
func (p *relayPool) open(ip netip.Addr, even, pair, df bool, home *relayLoop) (*relaySocket, *relaySocket, error) {
	p.mu.Lock()
	running := p.state == 1
	p.mu.Unlock()
	if !running {
		return nil, nil, errors.New("turn: relay loops are not running")
	}
	lo, hi := p.s.cfg.PortMin, p.s.cfg.PortMax
	n := hi - lo + 1
	start := rand.IntN(n)
	var lastErr error
	for i := 0; i < n; i++ {
		port := lo + (start+i)%n
		if (even || pair) && port%2 != 0 || pair && port+1 > hi {
			continue
		}
		rs, err := p.bind(ip, port, df, home)
		if err != nil {
			lastErr = err
			if errors.Is(err, unix.EADDRINUSE) || errors.Is(err, unix.EACCES) {
				continue
			}
			return nil, nil, err
		}
		if !pair {
			return rs, nil, nil
		}
		next, err := p.bind(ip, port+1, df, home)
		if err != nil {
			udpio.Close(rs.fd)
			lastErr = err
			continue
		}
		return rs, next, nil
	}
	return nil, nil, fmt.Errorf("turn: no free relay port in %d-%d: %w", lo, hi, lastErr)
}

func (p *relayPool) bind(ip netip.Addr, port int, df bool, home *relayLoop) (*relaySocket, error) {
	fd, local, err := udpio.Open(netip.AddrPortFrom(ip, uint16(port)), p.s.cfg.RelayBuffer, false)
	if err != nil {
		return nil, err
	}
	v6 := ip.Is6() && !ip.Is4In6()
	if df {
		if err := udpio.SetDontFragment(fd, v6); err != nil {
			udpio.Close(fd)
			return nil, fmt.Errorf("turn: DONT-FRAGMENT: %w", err)
		}
	}
	l := home
	if l == nil {
		l = p.loops[int(p.next.Add(1))%len(p.loops)]
	}
	return &relaySocket{fd: fd, addr: local, v6: v6, loop: l}, nil
}

// setDontFragment sets DF on an already open relay socket.
func (p *relayPool) setDontFragment(rs *relaySocket) error {
	return udpio.SetDontFragment(rs.fd, rs.v6)
}

// attach starts watching rs for the allocation with id.
func (p *relayPool) attach(rs *relaySocket, id uint64) error {
	return rs.loop.p.Add(rs.fd, id)
}

// close hands rs to its loop, which unregisters and closes it between two
// rounds of events, so no event for a reused descriptor number is ever
// taken for this one. The allocation is already marked closed, so no
// sender uses the descriptor any more.
func (p *relayPool) close(rs *relaySocket) {
	l := rs.loop
	l.mu.Lock()
	if l.exited {
		l.mu.Unlock()
		l.p.Del(rs.fd)
		udpio.Close(rs.fd)
		return
	}
	l.closeq = append(l.closeq, rs.fd)
	l.mu.Unlock()
	l.p.Wake()
}

// sendTo sends payload from rs to dst. The caller holds the allocation's
// read lock and has checked it is not closed.
func (p *relayPool) sendTo(rs *relaySocket, payload []byte, dst *relayDest) error {
	return udpio.SendTo(rs.fd, payload, dst)
}

// relayLoop is one event loop over many relay sockets: it waits in
// epoll_wait, drains ready sockets with recvmmsg into a shared batch, frames
// each datagram in place (ChannelData or Data indication) and sends them to
// UDP clients with sendmmsg, or into a TCP/TLS client's write buffer.
type relayLoop struct {
	s         *Server
	idx       int
	p         *udpio.Poller
	in, out   *udpio.Batch
	cin       *udpio.Batch // client datagrams
	nin, nout int
	req, resp stun.Message
	dst       relayDest
	sa        udpio.Sockaddr
	replyFd   int
	replyV6   bool
	replyFn   func([]byte, netip.AddrPort)
	streams   []*streamConn // with output queued this round
	outFd     int
	outV6     bool
	rng       *rand.PCG
	onEventFn func(uint64)
	roundFn   func() (stop, more bool)
	more      bool  // a handler of this round left data unread
	closing   []int // endRound's scratch
	stopping  atomic.Bool

	mu     sync.Mutex
	closeq []int
	exited bool
}

func (l *relayLoop) run(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		err := l.p.Run(l.onEventFn, l.roundFn)
		if err == nil {
			return // stopped
		}
		l.s.log.Error("turn: relay loop", "err", err)
		if _, stop := l.endRound(); stop {
			return
		}
	}
}

// endRound runs after the events of each round: it sends what the round
// produced, closes the relay sockets released meanwhile, and reports
// whether a handler left data unread and whether the loop is stopping.
func (l *relayLoop) endRound() (more, stop bool) {
	l.flush()
	l.mu.Lock()
	l.closing, l.closeq = l.closeq, l.closing[:0]
	stop = l.stopping.Load()
	if stop {
		l.exited = true
	}
	l.mu.Unlock()
	for _, fd := range l.closing {
		l.p.Del(fd)
		udpio.Close(fd)
	}
	more, l.more = l.more, false
	return more, stop
}

func (l *relayLoop) onEvent(tok uint64) {
	if tok == udpio.WakeToken {
		return
	}
	if tok&clientToken != 0 {
		l.readClient((*l.s.relays.clients.Load())[tok&^clientToken])
		return
	}
	a := l.s.table.getID(tok)
	if a == nil {
		return // released; its descriptor is closed after this round
	}
	l.drain(a)
}

// drain reads what a's relay socket holds, up to a few batches so that one
// busy peer cannot starve the others on this loop.
func (l *relayLoop) drain(a *allocation) {
	s := l.s
	rate := s.cfg.MaxBitrate
	for round := 0; round < 4; round++ {
		if l.nin > l.in.Len()-8 {
			l.flush()
		}
		start := l.nin
		n, err := l.in.RecvAt(a.relay.fd, start)
		if err != nil || n == 0 {
			// Not EAGAIN: an ICMP error about an earlier datagram, with
			// data possibly still queued behind it.
			l.more = l.more || err != nil && err != unix.EAGAIN
			return
		}
		now := s.now()
		a.mu.RLock()
		if a.closed {
			a.mu.RUnlock()
			return
		}
		snk := a.sink
		stream := snk.stream()
		for i := start; i < start+n; i++ {
			size := l.in.N[i]
			peer := l.in.Addrs[i]
			if size < 0 || !a.permitted(peer.Addr(), now) || !a.bw.allow(size, rate, now) {
				s.stats.dropped.Add(1)
				continue
			}
			var num uint16
			if ch := a.byPeer[peer]; ch != nil && now.Before(ch.expires) {
				num = ch.num
			}
			pkt := l.frame(i, size, num, peer, stream)
			s.stats.pktsToClients.Add(1)
			s.stats.bytesToClients.Add(uint64(size))
			switch snk := snk.(type) {
			case *udpSink:
				l.queue(snk, pkt)
			case *streamConn:
				if snk.queue(pkt) {
					l.streams = append(l.streams, snk)
				}
			default:
				snk.send(pkt)
			}
		}
		a.mu.RUnlock()
		l.nin = start + n
		if n < l.in.Len()-start {
			return
		}
	}
	l.more = true // the socket may hold more: the next round reads it
}

// readClient handles what a client-facing socket holds, a few batches at
// most per round for fairness.
func (l *relayLoop) readClient(c *clientSocket) {
	l.replyFd, l.replyV6 = c.fd, c.g.v6
	for round := 0; round < 4; round++ {
		n, err := l.cin.Recv(c.fd)
		if err != nil {
			// EAGAIN, or an ICMP error about an earlier datagram with
			// data possibly queued behind it.
			l.more = l.more || err != unix.EAGAIN
			return
		}
		for i := 0; i < n; i++ {
			if l.cin.N[i] >= 0 {
				l.s.udpPacket(l, c.g, l.cin.Bufs[i][:l.cin.N[i]], l.cin.Addrs[i], &l.req, &l.resp, &l.dst, l.replyFn)
			}
		}
		if n < l.cin.Len() {
			return
		}
	}
	l.more = true
}

func (l *relayLoop) reply(b []byte, to netip.AddrPort) {
	l.sa.Set(to, l.replyV6)
	udpio.SendTo(l.replyFd, b, &l.sa)
}

// frame lays the header for slot i's payload into the slot's headroom and
// returns the message: ChannelData when the peer has a channel
// (RFC 8656 §12.4), a Data indication otherwise (RFC 8656 §11.4).
func (l *relayLoop) frame(i, size int, num uint16, peer netip.AddrPort, stream bool) []byte {
	buf := l.in.Bufs[i]
	end := relayHeadroom + size
	if num != 0 {
		stun.PutChannelDataHeader(buf[relayHeadroom-4:], num, size)
		if stream {
			p := stun.ChannelDataPadding(size)
			clear(buf[end : end+p])
			end += p
		}
		return buf[relayHeadroom-4 : end]
	}
	addrLen := 8
	if peer.Addr().Is6() && !peer.Addr().Is4In6() {
		addrLen = 20
	}
	hdr := stun.HeaderSize + 4 + addrLen + 4
	start := relayHeadroom - hdr
	p := stun.ChannelDataPadding(size) // DATA is padded like any attribute
	clear(buf[end : end+p])
	h := buf[start:relayHeadroom]
	binary.BigEndian.PutUint16(h[0:2], stun.Type{Method: stun.MethodData, Class: stun.ClassIndication}.Value())
	binary.BigEndian.PutUint16(h[2:4], uint16(hdr-stun.HeaderSize+size+p))
	binary.BigEndian.PutUint32(h[4:8], stun.MagicCookie)
	var id stun.TransactionID
	binary.NativeEndian.PutUint64(id[0:8], l.rng.Uint64())
	binary.NativeEndian.PutUint32(id[8:12], uint32(l.rng.Uint64()))
	copy(h[8:20], id[:])
	binary.BigEndian.PutUint16(h[20:22], uint16(stun.AttrXORPeerAddress))
	binary.BigEndian.PutUint16(h[22:24], uint16(addrLen))
	stun.AppendXORAddress(h[24:24:24+addrLen], peer, &id)
	binary.BigEndian.PutUint16(h[24+addrLen:], uint16(stun.AttrData))
	binary.BigEndian.PutUint16(h[26+addrLen:], uint16(size))
	return buf[start : end+p]
}

// queue adds a datagram for a UDP client to the outgoing batch. The batch
// is sent from this loop's share of the client's listener sockets: they
// are all bound to the address the client talks to.
func (l *relayLoop) queue(u *udpSink, pkt []byte) {
	fd := u.g.fd(l.idx)
	if l.nout > 0 && fd != l.outFd {
		l.flushOut()
	}
	l.outFd, l.outV6 = fd, u.g.v6
	l.out.Pkts[l.nout] = pkt
	l.out.Addrs[l.nout] = u.addr
	l.nout++
	if l.nout == l.out.Len() {
		l.flushOut()
	}
}

// flush sends what is queued and frees the receive slots.
func (l *relayLoop) flush() {
	l.flushOut()
	for i, c := range l.streams {
		c.writeQueued()
		l.streams[i] = nil
	}
	l.streams = l.streams[:0]
	l.nin = 0
}

func (l *relayLoop) flushOut() {
	if l.nout == 0 {
		return
	}
	sent, _ := l.out.Send(l.outFd, l.nout, l.outV6)
	if sent < l.nout {
		l.s.stats.dropped.Add(uint64(l.nout - sent))
	}
	for i := 0; i < l.nout; i++ {
		l.out.Pkts[i] = nil
	}
	l.nout = 0
}

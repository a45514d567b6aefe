package turn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/stun"
	"golang.org/x/sys/unix"
)

// TCP allocations (RFC 6062). A client on a TCP or TLS control connection
// allocates with REQUESTED-TRANSPORT TCP; its relayed transport address is
// a TCP listening socket. Each connection with a peer, opened by the
// server on Connect (§5.2) or accepted from a permitted peer (§5.3), waits
// as a pending connection, under a CONNECTION-ID, for the client to bind
// a new connection of its own to it with ConnectionBind (§5.4); from then
// on the two carry raw bytes both ways.
//
// Goroutines: one accept loop per TCP allocation (owner: the allocation;
// stops when release closes its listener), one goroutine per Connect
// while it dials (stops at its timeout or when the allocation's context
// is cancelled) and two per bound pair: the client data connection's own
// reader goroutine copies client to peer, and one more copies peer to
// client (both stop when either socket closes; closeTCPConn closes both).
// All are counted in Server.wg.
//
// Memory: before ConnectionBind the server does not read the peer, so
// what the peer sends waits in the kernel's socket buffer and TCP flow
// control holds the peer back (§5.3 asks for exactly that); after it, each
// direction copies through one fixed buffer with blocking writes, so a
// slow reader on one side slows the writer on the other instead of
// queueing.

const (
	// tcpBindTimeout is how long a peer data connection waits for its
	// ConnectionBind (RFC 6062 §5.2, §5.3: 30 seconds).
	tcpBindTimeout = 30 * time.Second
	// tcpConnectTimeout bounds the server's connection attempt to a peer
	// on Connect; past it the answer is 447 (RFC 6062 §5.2).
	tcpConnectTimeout = 15 * time.Second
	// tcpCopyBuffer is the buffer of each direction of a bound pair.
	tcpCopyBuffer = 16 << 10
)

// errAsync is returned by a request handler that answers later, from
// another goroutine (Connect, which waits for the peer's TCP handshake).
var errAsync = errors.New("turn: response sent asynchronously")

// tcpRelay is the relayed side of a TCP allocation. Its maps are guarded
// by the allocation's mu.
type tcpRelay struct {
	ln     *net.TCPListener
	addr   netip.AddrPort
	ctx    context.Context // cancelled when the allocation is released
	cancel context.CancelFunc

	conns      map[uint32]*tcpConn         // pending and bound
	connecting map[netip.AddrPort]struct{} // peers of Connects in progress
}

// used is how many peer connections count against
// Config.MaxTCPConnections. Call with a.mu held.
func (tr *tcpRelay) used() int { return len(tr.conns) + len(tr.connecting) }

type tcpState uint8

const (
	tcpPending tcpState = iota // waiting for ConnectionBind
	tcpBound                   // relaying to a client data connection
	tcpClosed
)

// tcpConn is one peer data connection and, once bound, its client data
// connection.
type tcpConn struct {
	id    uint32
	a     *allocation
	peer  netip.AddrPort
	pc    *net.TCPConn
	timer *time.Timer // closes it if still pending after s.cfg.bindTimeout

	// Under a.mu.
	state  tcpState
	client *streamConn
}

// setReuse lets the server's connections to peers share the relayed
// transport address with its listener (RFC 6062 §5.2: the connection is
// made from the relayed transport address). Linux allows that only when
// every socket on the address has SO_REUSEPORT; the server never opens
// two listeners on one address (tcpPorts).
func setReuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// listenTCPRelay opens the listening socket of a new TCP allocation on ip,
// at a port from the configured range starting at a random one (RFC 8656
// §7.2 step 7).
func (s *Server) listenTCPRelay(ip netip.Addr) (*tcpRelay, error) {
	network := "tcp4"
	if ip.Is6() {
		network = "tcp6"
	}
	lc := net.ListenConfig{Control: setReuse}
	lo, hi := s.cfg.PortMin, s.cfg.PortMax
	n := hi - lo + 1
	start := rand.IntN(n)
	var lastErr error
	for i := 0; i < n; i++ {
		ap := netip.AddrPortFrom(ip, uint16(lo+(start+i)%n))
		// SO_REUSEPORT would let a second listener of ours join this one:
		// claim the address first.
		if !s.claimTCPPort(ap) {
			continue
		}
		ln, err := lc.Listen(context.Background(), network, ap.String())
		if err != nil {
			s.releaseTCPPort(ap)
			lastErr = err
			if errors.Is(err, unix.EADDRINUSE) || errors.Is(err, unix.EACCES) {
				continue
			}
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		return &tcpRelay{
			ln:         ln.(*net.TCPListener),
			addr:       ap,
			ctx:        ctx,
			cancel:     cancel,
			conns:      make(map[uint32]*tcpConn),
			connecting: make(map[netip.AddrPort]struct{}),
		}, nil
	}
	return nil, errors.Join(errors.New("turn: no free TCP relay port"), lastErr)
}

func (s *Server) claimTCPPort(ap netip.AddrPort) bool {
	s.tcpMu.Lock()
	defer s.tcpMu.Unlock()
	if _, ok := s.tcpPorts[ap]; ok {
		return false
	}
	s.tcpPorts[ap] = struct{}{}
	return true
}

func (s *Server) releaseTCPPort(ap netip.AddrPort) {
	s.tcpMu.Lock()
	delete(s.tcpPorts, ap)
	s.tcpMu.Unlock()
}

// closeTCPRelay stops a released TCP allocation: its listener, its
// Connects in progress and every peer and client data connection
// (RFC 6062 §5.5). a is already marked closed, so nothing new registers.
func (s *Server) closeTCPRelay(a *allocation) {
	tr := a.tcp
	tr.cancel()
	tr.ln.Close()
	a.mu.Lock()
	conns := make([]*tcpConn, 0, len(tr.conns))
	for _, t := range tr.conns {
		conns = append(conns, t)
	}
	a.mu.Unlock()
	for _, t := range conns {
		s.closeTCPConn(t, false)
	}
	s.releaseTCPPort(tr.addr)
}

// acceptPeers is the accept loop of a TCP allocation's relayed address
// (RFC 6062 §5.3). It ends when the listener is closed.
func (s *Server) acceptPeers(a *allocation) {
	tr := a.tcp
	var delay time.Duration
	for {
		pc, err := tr.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || tr.ctx.Err() != nil {
				return
			}
			// EMFILE and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-tr.ctx.Done():
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		s.peerConnected(a, pc)
	}
}

// peerConnected handles a connection accepted on a relayed address: one
// from a peer without a permission, or past the connection cap, is closed
// at once; otherwise the client hears of it in a ConnectionAttempt
// indication (RFC 6062 §5.3).
func (s *Server) peerConnected(a *allocation, pc *net.TCPConn) {
	peer := addrPort(pc.RemoteAddr())
	now := s.now()
	a.mu.Lock()
	switch {
	case a.closed:
		a.mu.Unlock()
		pc.Close()
		return
	case !a.permitted(peer.Addr(), now) || !s.peers.allowed(peer.Addr()):
		a.mu.Unlock()
		pc.Close()
		s.stats.dropped.Add(1)
		return
	case a.tcp.used() >= s.cfg.MaxTCPConnections:
		a.mu.Unlock()
		pc.Close()
		s.stats.quotaRejections.Add(1)
		return
	}
	t := s.addTCPConnLocked(a, peer, pc)
	a.mu.Unlock()
	var m stun.Message
	var tid stun.TransactionID
	for i := range tid {
		tid[i] = byte(rand.Uint32())
	}
	m.Reset(stun.Type{Method: stun.MethodConnectionAttempt, Class: stun.ClassIndication}, tid)
	m.AddConnectionID(t.id)
	m.AddXORAddress(stun.AttrXORPeerAddress, peer)
	if s.cfg.Software != "" {
		m.AddString(stun.AttrSoftware, s.cfg.Software)
	}
	a.sink.send(m.Raw)
}

// addTCPConnLocked registers a new pending peer data connection under a
// fresh CONNECTION-ID and arms its ConnectionBind timer. Call with a.mu
// held and a not closed.
func (s *Server) addTCPConnLocked(a *allocation, peer netip.AddrPort, pc *net.TCPConn) *tcpConn {
	t := &tcpConn{a: a, peer: peer, pc: pc}
	s.tcpMu.Lock()
	for t.id == 0 || s.tcpIDs[t.id] != nil {
		t.id = rand.Uint32()
	}
	s.tcpIDs[t.id] = t
	s.tcpMu.Unlock()
	a.tcp.conns[t.id] = t
	t.timer = time.AfterFunc(s.cfg.bindTimeout, func() { s.closeTCPConn(t, true) })
	s.stats.tcpConns.Add(1)
	return t
}

// closeTCPConn closes a peer data connection and its client data
// connection, if bound, together (RFC 6062 §5.5), and forgets them. With
// onlyPending it does so only if the connection is still waiting for its
// ConnectionBind (the timer's case). It is idempotent.
func (s *Server) closeTCPConn(t *tcpConn, onlyPending bool) {
	a := t.a
	a.mu.Lock()
	if t.state == tcpClosed || onlyPending && t.state != tcpPending {
		a.mu.Unlock()
		return
	}
	t.state = tcpClosed
	delete(a.tcp.conns, t.id)
	c := t.client
	a.mu.Unlock()
	s.tcpMu.Lock()
	delete(s.tcpIDs, t.id)
	s.tcpMu.Unlock()
	t.timer.Stop()
	t.pc.Close()
	if c != nil {
		c.end()
	}
	s.stats.tcpConns.Add(-1)
}

// connect implements the Connect request (RFC 6062 §5.2). The TCP
// handshake with the peer happens on its own goroutine, which answers:
// success with CONNECTION-ID, or 447.
func (s *Server) connect(r *request, username string) error {
	a, err := s.ownAllocation(r, username)
	if err != nil {
		return err
	}
	if a.tcp == nil {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "not a TCP allocation"}
	}
	pv, ok := r.msg.Get(stun.AttrXORPeerAddress)
	if !ok {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "missing XOR-PEER-ADDRESS"}
	}
	peer, err := s.peerAddress(r, a, pv) // 403 for a denied peer
	if err != nil {
		return err
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errMismatch
	}
	// §5.2: a Connect to this peer in progress, or a pending or bound
	// connection from an earlier one: 446.
	if _, busy := a.tcp.connecting[peer]; busy {
		a.mu.Unlock()
		return errConnectionExists
	}
	for _, t := range a.tcp.conns {
		if t.peer == peer {
			a.mu.Unlock()
			return errConnectionExists
		}
	}
	if a.tcp.used() >= s.cfg.MaxTCPConnections {
		a.mu.Unlock()
		s.stats.quotaRejections.Add(1)
		return errTCPQuota
	}
	a.tcp.connecting[peer] = struct{}{}
	a.mu.Unlock()
	hdr := stun.Message{Type: r.msg.Type, TransactionID: r.msg.TransactionID}
	fp := r.msg.Has(stun.AttrFingerprint)
	if !s.goTrack(func() { s.dialPeer(a, peer, &hdr, fp) }) {
		a.mu.Lock()
		delete(a.tcp.connecting, peer)
		a.mu.Unlock()
		return errCapacity
	}
	return errAsync
}

var (
	errConnectionExists = &stun.Error{Code: stun.CodeConnectionAlreadyExists}
	errConnectFailed    = &stun.Error{Code: stun.CodeConnectionTimeoutOrFailure}
	errTCPQuota         = &stun.Error{Code: stun.CodeAllocationQuotaReached, Reason: "too many TCP connections on this allocation"}
)

// dialPeer opens the connection of a Connect from the relayed transport
// address and answers the request (RFC 6062 §5.2).
func (s *Server) dialPeer(a *allocation, peer netip.AddrPort, hdr *stun.Message, fp bool) {
	tr := a.tcp
	ctx, cancel := context.WithTimeout(tr.ctx, tcpConnectTimeout)
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(tr.addr), Control: setReuse}
	network := "tcp4"
	if peer.Addr().Is6() {
		network = "tcp6"
	}
	nc, err := d.DialContext(ctx, network, peer.String())
	cancel()
	a.mu.Lock()
	delete(tr.connecting, peer)
	if a.closed {
		a.mu.Unlock()
		if nc != nil {
			nc.Close()
		}
		return // the control connection is gone with the allocation
	}
	var t *tcpConn
	if err == nil {
		t = s.addTCPConnLocked(a, peer, nc.(*net.TCPConn))
	}
	a.mu.Unlock()
	var resp stun.Message
	r := request{msg: hdr, resp: &resp}
	if err != nil {
		s.log.Debug("turn: Connect failed", slog.String("peer", peer.String()), slog.Any("err", err))
		s.errorResponse(&r, stun.CodeConnectionTimeoutOrFailure, errConnectFailed)
	} else {
		s.success(&r)
		resp.AddConnectionID(t.id)
	}
	resp.AddIntegrity(a.key[:])
	if fp {
		resp.AddFingerprint()
	}
	a.sink.send(resp.Raw)
}

// connectionBind implements ConnectionBind (RFC 6062 §5.4): the client
// connection it arrives on becomes the client data connection of the
// pending peer connection CONNECTION-ID names. The connection's reader
// stops framing STUN after this request (streamConn.bound) and hands the
// connection to runDataConn.
func (s *Server) connectionBind(r *request, username string) error {
	c, ok := r.sink.(*streamConn)
	if !ok || c.bound != nil {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "ConnectionBind needs a new TCP or TLS connection"}
	}
	if s.table.get(r.ft) != nil {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "connection holds an allocation"}
	}
	v, ok := r.msg.Get(stun.AttrConnectionID)
	if !ok {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "missing CONNECTION-ID"}
	}
	id, err := stun.ConnectionID(v)
	if err != nil {
		return errBadRequest
	}
	s.tcpMu.Lock()
	t := s.tcpIDs[id]
	s.tcpMu.Unlock()
	if t == nil {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "unknown CONNECTION-ID"}
	}
	a := t.a
	if a.username != username {
		return errWrongCredentials // RFC 8656 §5: another user's allocation
	}
	a.mu.Lock()
	if a.closed || t.state != tcpPending {
		a.mu.Unlock()
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "connection not pending"}
	}
	t.state = tcpBound
	t.client = c
	a.mu.Unlock()
	t.timer.Stop()
	c.bound = t
	s.success(r)
	return nil
}

// runDataConn relays between a bound client data connection and its peer
// data connection until either ends, then closes both (RFC 6062 §5.4,
// §5.5). It runs on the client connection's reader goroutine, after the
// reader has stopped; early holds what the client sent after its
// ConnectionBind request.
func (s *Server) runDataConn(t *tcpConn, c *streamConn, early []byte) {
	defer s.closeTCPConn(t, false)
	defer c.end()
	// The ConnectionBind response goes first: wait for a flusher.
	c.mu.Lock()
	if c.flushing {
		done := make(chan struct{})
		c.flushed = done
		c.mu.Unlock()
		select {
		case <-done:
		case <-s.done:
			// Shutting down: the flusher may never have started.
			return
		}
		c.mu.Lock()
	}
	ok := !c.closed && len(c.out) == 0
	c.mu.Unlock()
	if !ok {
		return
	}
	c.c.SetDeadline(time.Time{})
	if !s.goTrack(func() { s.copyData(t, t.pc, c.c, &s.stats.bytesToClients) }) {
		return
	}
	if len(early) > 0 {
		if _, err := t.pc.Write(early); err != nil {
			return
		}
		s.stats.bytesToPeers.Add(uint64(len(early)))
	}
	s.copyData(t, c.c, t.pc, &s.stats.bytesToPeers)
}

// copyData copies src to dst until either fails or src ends, then closes
// the pair. The allocation's bandwidth cap paces it.
func (s *Server) copyData(t *tcpConn, src io.Reader, dst io.Writer, count interface{ Add(uint64) uint64 }) {
	defer s.closeTCPConn(t, false)
	buf := make([]byte, tcpCopyBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !s.pace(t.a, n) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			count.Add(uint64(n))
		}
		if err != nil {
			return
		}
	}
}

// pace waits until the allocation's bandwidth cap (Config.MaxBitrate,
// shared by both directions of all its connections) lets n more bytes
// through. Where UDP relaying drops the excess, a data connection waits,
// and TCP flow control slows the sender. It reports false if the
// allocation is released meanwhile.
func (s *Server) pace(a *allocation, n int) bool {
	rate := s.cfg.MaxBitrate
	if rate < 0 {
		return true
	}
	for n > 0 {
		chunk := min(n, max(rate, 1)) // the bucket holds at most rate
		if a.bw.allow(chunk, rate, s.now()) {
			n -= chunk
			continue
		}
		wait := time.Duration(float64(chunk) / float64(max(rate, 1)) * float64(time.Second) / 2)
		select {
		case <-time.After(max(wait, time.Millisecond)):
		case <-a.tcp.ctx.Done():
			return false
		}
	}
	return true
}

package turn

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by the Serve methods after Shutdown.
var ErrServerClosed = errors.New("turn: server closed")

// Server is a STUN/TURN server. Create it with New, run it with ServeUDP,
// ServePacket and ServeTCP (each blocks until Shutdown), stop it with
// Shutdown. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	creds  *credentials
	nonces *nonces
	peers  *peerFilter
	table  *table
	relays *relayPool
	stats  counters

	reservations reservations

	// TCP allocations (tcpalloc.go): peer connections by CONNECTION-ID
	// and the relayed addresses listened on.
	tcpMu    sync.Mutex
	tcpIDs   map[uint32]*tcpConn
	tcpPorts map[netip.AddrPort]struct{}

	mu        sync.Mutex
	closing   bool
	started   bool
	listeners map[net.Listener]struct{}
	packets   map[net.PacketConn]struct{}
	conns     map[*streamConn]struct{}
	udpAddrs  []netip.AddrPort
	wg        sync.WaitGroup // every goroutine but the relay loops
	done      chan struct{}  // closed when Shutdown starts
}

// New validates cfg and returns a server. It starts nothing.
func New(cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	own := []netip.Addr{c.RelayIP}
	if c.RelayIPv6.IsValid() {
		own = append(own, c.RelayIPv6)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					own = append(own, ip.Unmap())
				}
			}
		}
	}
	s := &Server{
		cfg:       c,
		log:       c.Logger,
		creds:     newCredentials(c.Realm, c.Secret, c.Users),
		nonces:    newNonces(c.NonceLifetime),
		peers:     newPeerFilter(c.AllowPeers, c.DenyPeers, own),
		table:     newTable(),
		listeners: make(map[net.Listener]struct{}),
		packets:   make(map[net.PacketConn]struct{}),
		conns:     make(map[*streamConn]struct{}),
		done:      make(chan struct{}),
		tcpIDs:    make(map[uint32]*tcpConn),
		tcpPorts:  make(map[netip.AddrPort]struct{}),
	}
	s.relays = newRelayPool(s)
	return s, nil
}

// PeerAllowed reports whether the server would relay to ip under its
// deny-list and Config.AllowPeers.
func (s *Server) PeerAllowed(ip netip.Addr) bool { return s.peers.allowed(ip) }

func (s *Server) now() time.Time { return s.cfg.Now() }

// start launches the relay loops and the janitor on first use.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrServerClosed
	}
	if s.started {
		return nil
	}
	if err := s.relays.start(); err != nil {
		return err
	}
	s.started = true
	s.wg.Add(1)
	go s.janitor()
	return nil
}

// goTrack runs f in a goroutine owned by the server, unless shutting down.
func (s *Server) goTrack(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// janitor expires allocations, permissions and channels once a second.
func (s *Server) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

func (s *Server) sweep() {
	now := s.now()
	for _, rs := range s.reservations.expired(now, false) {
		s.relays.close(rs)
	}
	for _, a := range s.table.all() {
		if a.sweep(now) {
			s.log.Debug("turn: allocation expired", slog.String("client", a.ft.client.String()))
			s.release(a)
		}
	}
}

// release deletes a and frees its relay socket, or for a TCP allocation
// its listener and connections (RFC 6062 §5.5). A TCP or TLS client's
// connection ends with its allocation.
func (s *Server) release(a *allocation) {
	if s.table.remove(a) {
		if a.tcp != nil {
			s.closeTCPRelay(a)
		} else {
			s.relays.close(a.relay)
		}
		if c, ok := a.sink.(*streamConn); ok {
			c.allocationGone()
		}
	}
}

// Shutdown stops accepting, deletes every allocation, closes every client
// connection and socket the server was given, and waits for its goroutines
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
	} else {
		s.closing = true
		close(s.done)
		for ln := range s.listeners {
			ln.Close()
		}
		s.mu.Unlock()
	}
	for _, a := range s.table.all() {
		s.release(a)
	}
	for _, rs := range s.reservations.expired(time.Time{}, true) {
		s.relays.close(rs)
	}
	// The relay loops send through the client sockets, so they stop first.
	s.relays.stop()
	s.mu.Lock()
	for pc := range s.packets {
		pc.Close()
	}
	conns := make([]*streamConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// Not under s.mu: closing waits for a reader's handler, which may
	// take it (streamConn.close).
	for _, c := range conns {
		c.close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats are cumulative counters and current gauges.
type Stats struct {
	Allocations      int    // current
	AllocationsTotal uint64 // created since start
	Bindings         uint64
	AuthFailures     uint64
	QuotaRejections  uint64
	DeniedPeers      uint64
	PacketsToPeers   uint64
	PacketsToClients uint64
	BytesToPeers     uint64
	BytesToClients   uint64
	Dropped          uint64 // no permission, no channel, over the bandwidth cap, or a full socket
	// TCPConnections is the current number of peer connections of TCP
	// allocations (RFC 6062), pending and bound. Their bytes count in
	// BytesToPeers and BytesToClients; a refused peer connection counts
	// in Dropped, one past Config.MaxTCPConnections in QuotaRejections.
	TCPConnections int
}

type counters struct {
	allocations, bindings, authFailures, quotaRejections, deniedPeers atomic.Uint64
	pktsToPeers, pktsToClients, bytesToPeers, bytesToClients, dropped atomic.Uint64
	tcpConns                                                          atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Allocations:      s.table.len(),
		AllocationsTotal: s.stats.allocations.Load(),
		Bindings:         s.stats.bindings.Load(),
		AuthFailures:     s.stats.authFailures.Load(),
		QuotaRejections:  s.stats.quotaRejections.Load(),
		DeniedPeers:      s.stats.deniedPeers.Load(),
		PacketsToPeers:   s.stats.pktsToPeers.Load(),
		PacketsToClients: s.stats.pktsToClients.Load(),
		BytesToPeers:     s.stats.bytesToPeers.Load(),
		BytesToClients:   s.stats.bytesToClients.Load(),
		Dropped:          s.stats.dropped.Load(),
		TCPConnections:   int(s.stats.tcpConns.Load()),
	}
}

func (s *Server) trackListener(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing {
			return false
		}
		s.listeners[ln] = struct{}{}
	} else {
		delete(s.listeners, ln)
	}
	return true
}

func (s *Server) trackPacket(pc net.PacketConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing {
			return false
		}
		s.packets[pc] = struct{}{}
	} else {
		delete(s.packets, pc)
	}
	return true
}

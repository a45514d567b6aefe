package websocket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"
)

// Server upgrades HTTP requests to WebSocket connections and owns them: the
// event loops and goroutines that drive them, and their shutdown.
//
// New starts nothing. Serve runs an accept loop; Upgrade may be called from
// any net/http handler without Serve. Shutdown sends 1001 to every peer and
// waits for the connections to close.
type Server struct {
	cfg Config

	startOnce sync.Once
	loops     []*loop // empty where event loops are unavailable
	nextLoop  atomic.Uint32
	hsJobs    chan hsJob

	wg      sync.WaitGroup // every goroutine the server starts
	closing atomic.Bool
	done    chan struct{}
	live    atomic.Int64 // open connections

	refusing atomic.Int32 // refused connections being answered (admit.go)

	mu        sync.Mutex
	gconns    map[*Conn]struct{} // goroutine-driven connections
	listeners map[net.Listener]struct{}
	httpSrvs  []*http.Server
	adms      map[net.Conn]*admission // connections handed to net/http (admit.go)

	ctrs    []counters // stats.go
	nextCtr atomic.Uint32
}

// NewServer validates cfg and returns a Server. It starts nothing.
func NewServer(cfg Config) (*Server, error) {
	if cfg.MaxMessageSize < 0 || cfg.WriteBufferLimit < 0 || cfg.Loops < 0 {
		return nil, errors.New("websocket: negative limit in Config")
	}
	if cfg.CompressionLevel != 0 && (cfg.CompressionLevel < flate.HuffmanOnly || cfg.CompressionLevel > flate.BestCompression) {
		return nil, fmt.Errorf("websocket: CompressionLevel %d out of range", cfg.CompressionLevel)
	}
	s := &Server{
		cfg:       cfg.withDefaults(),
		done:      make(chan struct{}),
		gconns:    map[*Conn]struct{}{},
		listeners: map[net.Listener]struct{}{},
		adms:      map[net.Conn]*admission{},
	}
	s.ctrs = make([]counters, s.cfg.Loops+1)
	return s, nil
}

// Open returns the number of open WebSocket connections.
func (s *Server) Open() int { return int(s.live.Load()) }

func (s *Server) start() {
	s.startOnce.Do(func() {
		s.loops = startLoops(s, s.cfg.Loops)
		s.hsJobs = make(chan hsJob, s.cfg.HandshakeWorkers*64)
		for i := 0; i < s.cfg.HandshakeWorkers; i++ {
			s.wg.Add(1)
			go s.handshakeWorker()
		}
	})
}

func (s *Server) pickLoop() *loop {
	return s.loops[int(s.nextLoop.Add(1))%len(s.loops)]
}

// Upgrade completes the WebSocket handshake for r (RFC 6455 §4.2) and hands
// the connection to h. On a bad handshake it writes the HTTP error and
// returns an error wrapping ErrNotWebSocket. It may be called from any
// net/http handler; under Serve it switches the connection in place.
func (s *Server) Upgrade(w http.ResponseWriter, r *http.Request, h Handler) (*Conn, error) {
	if h == nil {
		return nil, errors.New("websocket: Upgrade with nil Handler")
	}
	u, err := checkHandshake(r)
	if err != nil {
		var he *handshakeError
		errors.As(err, &he)
		if he.status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, he.msg, he.status)
		return nil, fmt.Errorf("%w: %s", ErrNotWebSocket, he.msg)
	}
	check := s.cfg.CheckOrigin
	if check == nil {
		check = sameOrigin
	}
	if !check(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return nil, fmt.Errorf("%w: origin %q not allowed", ErrNotWebSocket, r.Header.Get("Origin"))
	}
	if s.closing.Load() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, ErrServerClosed
	}
	s.start()
	sub := selectSubprotocol(s.cfg.Subprotocols, u.subprotocols)
	var ext string
	var dp deflateParams
	var deflate bool
	if s.cfg.Compression {
		ext, dp, deflate = negotiateDeflate(u.extensions)
	}
	setup := func(c *Conn) {
		c.h = h
		c.subprotocol = sub
		c.deflate = deflate
		c.huffOnly = deflate && dp.serverMaxWindowBits != 0 && dp.serverMaxWindowBits < 15
		c.mu.Lock()
		c.out = appendResponse(c.growOutLocked(256), u.key, sub, ext)
		c.st |= stOpen
		c.mu.Unlock()
	}
	if lw, ok := w.(*loopRW); ok {
		if lw.upgraded != nil {
			return nil, errors.New("websocket: Upgrade called twice")
		}
		// The connection stays on the loops of the Server that accepted
		// it, under this Server's limits.
		lw.c.cfg = &s.cfg
		setup(lw.c)
		lw.upgraded = lw.c
		return lw.c, nil
	}
	adm := claimAdmission(r)
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: cannot take over the connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	var pre []byte
	if n := brw.Reader.Buffered(); n > 0 {
		p, _ := brw.Reader.Peek(n)
		pre = append([]byte(nil), p...)
	}
	c := s.newConn()
	c.remote = addrPort(nc.RemoteAddr())
	c.adm = adm
	setup(c)
	s.attach(c, nc, pre)
	return c, nil
}

func (s *Server) newConn() *Conn {
	return &Conn{cfg: &s.cfg, fd: -1, ctr: &s.ctrs[int(s.nextCtr.Add(1))%len(s.ctrs)]}
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	if a != nil {
		ap, _ := netip.ParseAddrPort(a.String())
		return ap
	}
	return netip.AddrPort{}
}

// attach hands an upgraded connection to a loop when it is plain TCP, or to
// the goroutine driver otherwise. pre holds bytes already read past the
// handshake.
func (s *Server) attach(c *Conn, nc net.Conn, pre []byte) {
	if tc, ok := nc.(*net.TCPConn); ok && len(s.loops) > 0 {
		fd, err := takeFD(tc)
		if err == nil {
			s.pickLoop().adopt(c, fd, pre)
			return
		}
		s.cfg.Logger.Warn("websocket: cannot move connection to event loop; using goroutines", "err", err)
	}
	s.goAttach(c, nc, pre)
}

// Serve accepts connections on ln until Shutdown or Close. On Linux, plain
// TCP connections are read by the event loops from the first byte: a
// WebSocket upgrade request runs h on a handshake worker with an in-loop
// ResponseWriter (h calls Upgrade as usual); any other request is served by a
// net/http.Server running h. Other listeners (TLS) go to net/http directly.
func (s *Server) Serve(ln net.Listener, h http.Handler) error {
	if s.closing.Load() {
		return ErrServerClosed
	}
	s.start()
	cl := newChanListener(ln.Addr(), s.cfg.Logger)
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		ReadTimeout:       s.cfg.HTTPReadTimeout,
		IdleTimeout:       s.cfg.HTTPIdleTimeout,
		ErrorLog:          slogErrorLog(s.cfg.Logger),
	}
	if s.cfg.Admit != nil {
		hs.ConnState = s.connState
		hs.ConnContext = s.connContext
		cl.dropped = s.connDropped
	}
	s.mu.Lock()
	s.listeners[ln] = struct{}{}
	s.httpSrvs = append(s.httpSrvs, hs)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = hs.Serve(cl)
	}()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("websocket: accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		adm, ok := s.admit(nc)
		if !ok {
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok && len(s.loops) > 0 {
			remote := addrPort(tc.RemoteAddr())
			fd, err := takeFD(tc)
			if err != nil {
				s.handOver(cl, nc, adm)
				continue
			}
			c := s.newConn()
			c.remote = remote
			c.adm = adm
			s.pickLoop().adoptHTTP(c, fd, h, cl)
			continue
		}
		s.handOver(cl, nc, adm)
	}
}

// Shutdown stops accepting, sends Close 1001 (going away) to every
// connection, and waits until they are closed or ctx is done; then it drops
// the rest and stops the server's goroutines.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.closing.CompareAndSwap(false, true) {
		return ErrServerClosed
	}
	s.mu.Lock()
	for ln := range s.listeners {
		_ = ln.Close()
	}
	srvs := s.httpSrvs
	gconns := make([]*Conn, 0, len(s.gconns))
	for c := range s.gconns {
		gconns = append(gconns, c)
	}
	s.mu.Unlock()
	for _, hs := range srvs {
		if hs.Shutdown(ctx) != nil {
			_ = hs.Close() // ctx is done: drop what is left, new connections included
		}
	}
	for _, l := range s.loops {
		l.closeAll(StatusGoingAway, "server shutting down")
	}
	for _, c := range gconns {
		_ = c.Close(StatusGoingAway, "server shutting down")
	}
	var err error
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.live.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	s.stop()
	return err
}

// Close drops every connection at once and stops the server.
func (s *Server) Close() error {
	if !s.closing.CompareAndSwap(false, true) {
		return ErrServerClosed
	}
	s.mu.Lock()
	for ln := range s.listeners {
		_ = ln.Close()
	}
	srvs := s.httpSrvs
	s.mu.Unlock()
	for _, hs := range srvs {
		_ = hs.Close()
	}
	s.stop()
	return nil
}

// stop ends the loops (which drop their connections), the goroutine-driven
// connections and the handshake workers, and waits for all goroutines.
func (s *Server) stop() {
	s.mu.Lock()
	for c := range s.gconns {
		c.mu.Lock()
		c.abortLocked(nil)
		c.mu.Unlock()
	}
	s.mu.Unlock()
	for _, l := range s.loops {
		l.stop()
	}
	close(s.done)
	s.wg.Wait()
}

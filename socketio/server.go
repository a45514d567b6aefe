package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/socketio/packet"
)

// Config configures a Server. The zero value is valid: every zero field means
// the documented default.
type Config struct {
	// ConnectTimeout closes an Engine.IO connection that has joined no
	// namespace within this time. Default 45s (socket.io's connectTimeout).
	ConnectTimeout time.Duration
	// MaxPendingPackets bounds the packets of one connection waiting for their
	// handlers. A client that sends faster than its handlers run is
	// disconnected with ReasonSlowHandlers. Default 256.
	MaxPendingPackets int
	// MaxAttachments bounds the binary attachments of one packet. Default 10.
	MaxAttachments int
	// Recovery turns on connection-state recovery when non-nil. Off by
	// default, as in socket.io.
	Recovery *RecoveryConfig
	// Adapter creates each namespace's adapter. Default NewMemoryAdapter.
	Adapter func(nsp *Namespace) Adapter
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// RecoveryConfig configures connection-state recovery (socket.io's
// connectionStateRecovery option): a client that lost its connection and comes
// back within MaxDisconnectionDuration gets its id, rooms and data back, and
// the broadcasts it missed are replayed.
type RecoveryConfig struct {
	// MaxDisconnectionDuration is how long a session and the packets sent
	// since are kept. Default 2 minutes.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs namespace middleware for a recovered socket too. By
	// default it is skipped (socket.io's skipMiddlewares: true).
	RunMiddlewares bool
}

const (
	defaultConnectTimeout    = 45 * time.Second
	defaultMaxPendingPackets = 256
	defaultMaxDisconnection  = 2 * time.Minute
)

// Server is a Socket.IO v5 server. It owns namespaces and the Socket.IO side of
// every Engine.IO connection handed to it with Open. New starts nothing;
// Shutdown disconnects every socket and waits for running handlers.
type Server struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	clients map[*client]struct{}
	closed  bool

	// handlers tracks the goroutines that run handlers (one per busy client).
	handlers sync.WaitGroup

	broadcasts, deliveries atomic.Uint64 // Stats
}

// Stats are a Server's counters since it was made, for metrics.
type Stats struct {
	// Broadcasts counts packets broadcast to local sockets (a cluster
	// adapter's packets from other nodes included); Deliveries counts the
	// sockets they reached (the fan-out).
	Broadcasts, Deliveries uint64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Broadcasts: s.broadcasts.Load(), Deliveries: s.deliveries.Load()}
}

func (s *Server) countBroadcast(n int) {
	s.broadcasts.Add(1)
	s.deliveries.Add(uint64(n))
}

// New validates cfg and returns a server with the main namespace "/".
func New(cfg Config) (*Server, error) {
	if cfg.ConnectTimeout < 0 || cfg.MaxPendingPackets < 0 || cfg.MaxAttachments < 0 {
		return nil, errors.New("socketio: negative limit in Config")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.MaxPendingPackets == 0 {
		cfg.MaxPendingPackets = defaultMaxPendingPackets
	}
	if cfg.MaxAttachments == 0 {
		cfg.MaxAttachments = packet.DefaultMaxAttachments
	}
	if cfg.Recovery != nil {
		r := *cfg.Recovery
		if r.MaxDisconnectionDuration < 0 {
			return nil, errors.New("socketio: negative Recovery.MaxDisconnectionDuration")
		}
		if r.MaxDisconnectionDuration == 0 {
			r.MaxDisconnectionDuration = defaultMaxDisconnection
		}
		cfg.Recovery = &r
	}
	if cfg.Adapter == nil {
		cfg.Adapter = func(nsp *Namespace) Adapter { return NewMemoryAdapter(nsp) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, nsps: map[string]*Namespace{}, clients: map[*client]struct{}{}}
	s.Of("/")
	return s, nil
}

// Of returns the namespace called name, creating it if needed. A name without
// a leading "/" gets one.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ofLocked(name, nil)
}

func (s *Server) ofLocked(name string, parent *ParentNamespace) *Namespace {
	if n, ok := s.nsps[name]; ok {
		return n
	}
	n := newNamespace(s, name, parent)
	s.nsps[name] = n
	return n
}

// Use adds connection middleware to the main namespace.
func (s *Server) Use(mw Middleware) { s.Of("/").Use(mw) }

// On registers an event handler on the main namespace.
func (s *Server) On(event string, h EventHandler) { s.Of("/").On(event, h) }

// OnConnection registers a connection handler on the main namespace.
func (s *Server) OnConnection(h ConnectionHandler) { s.Of("/").OnConnection(h) }

// NamespaceMatcher decides whether a client may create the namespace name on
// demand; auth is the payload of its CONNECT packet.
type NamespaceMatcher func(ctx context.Context, name string, auth json.RawMessage) bool

// OfFunc returns a parent namespace: a namespace a client asks for that does
// not exist yet is created as its child when match accepts the name. Children
// share the parent's middleware and handlers.
func (s *Server) OfFunc(match NamespaceMatcher) *ParentNamespace {
	p := &ParentNamespace{srv: s, match: match, registry: newRegistry(), children: map[string]*Namespace{}}
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// OfRegexp is OfFunc with a regular expression matched against the name.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(func(_ context.Context, name string, _ json.RawMessage) bool { return re.MatchString(name) })
}

// lookup finds or creates (through a parent) the namespace a CONNECT names.
func (s *Server) lookup(ctx context.Context, name string, auth json.RawMessage) *Namespace {
	s.mu.Lock()
	n, ok := s.nsps[name]
	parents := append([]*ParentNamespace(nil), s.parents...)
	s.mu.Unlock()
	if ok {
		return n
	}
	for _, p := range parents {
		if !p.match(ctx, name, auth) {
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil
		}
		n := s.ofLocked(name, p)
		s.mu.Unlock()
		p.addChild(n)
		return n
	}
	return nil
}

// Namespaces returns the names of the existing namespaces.
func (s *Server) Namespaces() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.nsps))
	for name := range s.nsps {
		out = append(out, name)
	}
	return out
}

// EngineConn is what the Socket.IO layer needs from an Engine.IO session.
// engineio.Socket satisfies it, and has two optional methods the layer uses
// when present:
//   - Writable() bool: false drops volatile packets (Socket.EmitVolatile);
//     without it they are always sent.
//   - Request() *http.Request: the handshake request, when Open was given
//     none (Socket.Handshake).
type EngineConn interface {
	// ID is the Engine.IO session id.
	ID() string
	// Send queues one message. It must not block and must not modify data,
	// which may be shared by many connections (a broadcast is encoded once).
	Send(data []byte, binary bool) error
	// Close ends the session; the Socket.IO layer learns of the end through
	// Conn.Closed like any other close.
	Close() error
}

// Conn is the Socket.IO side of one Engine.IO session, returned by Open. The
// transport calls Receive for every message and Closed once at the end, one
// call at a time.
type Conn struct{ c *client }

// Open attaches an Engine.IO session. r is the request that opened it (for
// Socket.Handshake); it may be nil, and then, if ec has a method
// Request() *http.Request (engineio.Socket has), the handshake is taken from
// it each time it is asked for, so the connection keeps no copy of its own.
// The connection must join a namespace within Config.ConnectTimeout.
func (s *Server) Open(ec EngineConn, r *http.Request) (*Conn, error) {
	c := newClient(s, ec, r)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrServerClosed
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	c.startConnectTimer()
	return &Conn{c}, nil
}

// Receive handles one Engine.IO message. data is not retained.
func (c *Conn) Receive(data []byte, binary bool) { c.c.receive(data, binary) }

// Closed reports the end of the Engine.IO session with its reason (for
// example "transport close" or "ping timeout").
func (c *Conn) Closed(reason string) { c.c.engineClosed(DisconnectReason(reason)) }

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// Shutdown disconnects every socket with ReasonServerShuttingDown, closes
// every Engine.IO connection handed to Open, and waits until running handlers
// return or ctx ends. New connections are refused afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("socketio: shutdown: %w", ctx.Err())
	}
	for _, n := range nsps {
		if cerr := n.adapter.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

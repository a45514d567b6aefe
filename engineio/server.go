package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/switchboard/switchboard/engineio/packet"
)

// Server is an Engine.IO v4 server. It is an http.Handler: mount it where
// clients look for it ("/engine.io/" by default, "/socket.io/" under
// Socket.IO); it serves every request it receives, whatever the path.
//
// New starts nothing; sessions and their timers exist only while clients
// are connected. Shutdown closes every session and waits for them to drain.
type Server struct {
	cfg Config
	h   Handler
	log *slog.Logger
	ws  wsUpgrader

	gzipPool sync.Pool // *gzip.Writer for polling responses

	// Control packets, encoded once.
	ping, pongProbe, noop, closePkt *Message

	upgradeNoopEvery time.Duration // upgradeNoopInterval; tests may lengthen it

	mu       sync.Mutex
	sessions map[string]*Socket
	closing  bool
	stopped  bool // no timer callback may start
	running  int  // timer callbacks in progress

	stats stats // stats.go
}

// New validates cfg and returns a Server. It starts nothing.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	srv := &Server{
		cfg:       cfg,
		h:         cfg.Handler,
		log:       cfg.Logger,
		ping:      newText(packet.Ping, nil),
		pongProbe: newText(packet.Pong, []byte("probe")),
		noop:      newText(packet.Noop, nil),
		closePkt:  newText(packet.Close, nil),
		sessions:  make(map[string]*Socket),

		upgradeNoopEvery: upgradeNoopInterval,
	}
	if err := srv.initWebSocket(); err != nil {
		return nil, err
	}
	return srv, nil
}

// Len returns the number of sessions.
func (srv *Server) Len() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

// ServeHTTP serves Engine.IO requests: handshakes, polling GETs and POSTs,
// WebSocket connections and upgrades (protocol v4, section "Transports").
// A rejected request gets 400 or 403 with the reference's JSON body
// {"code":N,"message":"..."} (see ErrorCode).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	if srv.cfg.CheckOrigin != nil && !srv.cfg.CheckOrigin(r) {
		srv.stats.originRefused.Add(1)
		srv.log.Debug("engineio: origin not allowed", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		writeRequestError(w, reqErr(CodeForbidden, "origin not allowed"))
		return
	}
	if srv.cors(w, r) {
		return
	}
	q := r.URL.Query()
	s, rerr := srv.verify(r, q)
	if rerr != nil {
		srv.log.Debug("engineio: request rejected", "err", rerr, "method", r.Method, "url", r.URL.String(), "remote", r.RemoteAddr)
		writeRequestError(w, rerr)
		return
	}
	transport := Transport(q.Get("transport"))
	switch {
	case transport == WebSocket && s == nil:
		srv.handshakeWebSocket(w, r, arrived)
	case transport == WebSocket:
		srv.upgradeWebSocket(w, r, s)
	case s == nil:
		srv.handshakePolling(w, r, arrived)
	case r.Method == http.MethodGet:
		s.servePoll(w, r)
	case r.Method == http.MethodPost:
		s.serveData(w, r)
	default:
		writeRequestError(w, reqErr(CodeBadRequest, "method "+r.Method))
	}
}

// verify checks a request like the reference (lib/server.ts, verify) and
// returns the session it names, if any.
func (srv *Server) verify(r *http.Request, q url.Values) (*Socket, *requestError) {
	transport := Transport(q.Get("transport"))
	if !srv.cfg.allows(transport) {
		return nil, reqErr(CodeUnknownTransport, "transport "+q.Get("transport"))
	}
	// Section "Transports": EIO is mandatory; only 4 is spoken here.
	if q.Get("EIO") != "4" {
		return nil, reqErr(CodeUnsupportedProtocolVersion, "EIO "+q.Get("EIO"))
	}
	isWS := transport == WebSocket
	if isWS && (r.Method != http.MethodGet || !isUpgradeRequest(r)) {
		return nil, reqErr(CodeBadRequest, "websocket transport without an upgrade request")
	}
	if sid := q.Get("sid"); sid != "" {
		srv.mu.Lock()
		s := srv.sessions[sid]
		srv.mu.Unlock()
		if s == nil {
			return nil, reqErr(CodeUnknownSID, "sid "+sid)
		}
		if !isWS && s.Transport() != Polling {
			return nil, reqErr(CodeBadRequest, "transport mismatch: polling request for a websocket session")
		}
		return s, nil
	}
	if r.Method != http.MethodGet {
		return nil, reqErr(CodeBadHandshakeMethod, "method "+r.Method)
	}
	if srv.isClosing() {
		return nil, reqErr(CodeBadRequest, "server shutting down")
	}
	if srv.cfg.AllowRequest != nil {
		if err := srv.cfg.AllowRequest(r); err != nil {
			return nil, reqErr(CodeForbidden, err.Error())
		}
	}
	return nil, nil
}

// openSession creates and registers a session for the handshake request
// req (a handshakeRequest copy) that arrived at since, on polling or, when
// ws is not nil, on that WebSocket, and calls OnOpen. It returns nil when the server is shutting
// down.
//
// The open packet is queued (polling) or sent (WebSocket) and the heartbeat
// started under s.mu, so no close can interleave; recvMu is held across
// OnOpen, so that OnClose, even for a close that happens meanwhile, comes
// after it.
func (srv *Server) openSession(req handshake, ws *wsTransport, since time.Time) *Socket {
	s := &Socket{srv: srv, id: newID(), req: req, transport: Polling}
	if ws != nil {
		s.transport, s.ws, ws.s = WebSocket, ws, s
	}
	s.recvMu.Lock()
	s.mu.Lock()
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		s.mu.Unlock()
		s.recvMu.Unlock()
		return nil
	}
	srv.sessions[s.id] = s
	srv.mu.Unlock()
	open := srv.openPacket(s)
	if ws != nil {
		_ = ws.send(open) // a failure shows up as the connection's OnClose
	} else {
		s.queue = append(s.queue, open)
	}
	s.startHeartbeatLocked(since)
	s.mu.Unlock()
	srv.h.OnOpen(s)
	s.recvMu.Unlock()
	s.notifyClose()
	return s
}

// openPacket encodes the handshake (section "Handshake"): the open packet
// with sid, upgrades, pingInterval, pingTimeout (milliseconds) and
// maxPayload, in the reference's key order.
func (srv *Server) openPacket(s *Socket) *Message {
	upgrades := []Transport{}
	if s.transport == Polling && !srv.cfg.DisableUpgrades && srv.cfg.allows(WebSocket) {
		upgrades = append(upgrades, WebSocket)
	}
	data, _ := json.Marshal(struct {
		SID          string      `json:"sid"`
		Upgrades     []Transport `json:"upgrades"`
		PingInterval int64       `json:"pingInterval"`
		PingTimeout  int64       `json:"pingTimeout"`
		MaxPayload   int         `json:"maxPayload"`
	}{s.id, upgrades, srv.cfg.PingInterval.Milliseconds(), srv.cfg.PingTimeout.Milliseconds(), srv.cfg.MaxPayload})
	return newText(packet.Open, data)
}

// newID returns a session id: 120 random bits in 20 URL-safe base64
// characters, the length of the reference's (lib/contrib/base64id.ts).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (srv *Server) remove(s *Socket) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

func (srv *Server) isClosing() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.closing
}

// enter admits a timer callback; false once Shutdown has finished.
func (srv *Server) enter() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.stopped {
		return false
	}
	srv.running++
	return true
}

func (srv *Server) leave() {
	srv.mu.Lock()
	srv.running--
	srv.mu.Unlock()
}

// Shutdown refuses new sessions, closes every session with
// ReasonServerShutdown (the packets already sent are delivered first:
// polling clients collect them on their next GET) and waits until all
// sessions are gone and no timer callback runs, or ctx is done; the sessions
// left then are dropped. A WebSocket server the Server made itself is shut
// down too.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	srv.closing = true
	all := make([]*Socket, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		all = append(all, s)
	}
	srv.mu.Unlock()
	for _, s := range all {
		s.closeWith(ReasonServerShutdown, nil, true)
	}
	err := srv.wait(ctx, func() bool { return len(srv.sessions) == 0 })
	if err != nil {
		srv.mu.Lock()
		all = all[:0]
		for _, s := range srv.sessions {
			all = append(all, s)
		}
		srv.mu.Unlock()
		for _, s := range all {
			s.mu.Lock()
			if s.state != stClosed {
				s.finishLocked(false, closeGoingAway)
			}
			s.mu.Unlock()
		}
	}
	srv.mu.Lock()
	srv.stopped = true
	srv.mu.Unlock()
	if werr := srv.wait(context.Background(), func() bool { return srv.running == 0 }); err == nil {
		err = werr
	}
	if werr := srv.shutdownWebSocket(ctx); err == nil {
		err = werr
	}
	return err
}

// wait polls cond (under srv.mu) until it holds or ctx is done.
func (srv *Server) wait(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		srv.mu.Lock()
		ok := cond()
		srv.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

package peerjs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// Server is the PeerJS-compatible endpoint. Mount it at Config.Path and
// below (for example mux.Handle("/peerjs/", s) and mux.Handle("/peerjs", s)).
type Server struct {
	cfg   Config
	realm *realm
	ws    *websocket.Server
	ownWS bool

	mu       sync.Mutex
	conns    map[*wsConn]struct{}
	closed   bool
	drained  chan struct{} // closed when closed and conns is empty
	started  bool
	stop     chan struct{}
	sweeperD chan struct{} // closed when the sweeper has returned
}

// New validates cfg and returns a Server. It starts nothing; the first
// request starts the sweeper goroutine (alive timeouts, EXPIRE, LEAVE),
// which Shutdown stops.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		ws:       cfg.WebSocket,
		conns:    make(map[*wsConn]struct{}),
		drained:  make(chan struct{}),
		stop:     make(chan struct{}),
		sweeperD: make(chan struct{}),
	}
	s.realm = newRealm(&s.cfg)
	if cfg.Cluster != nil {
		if err := cfg.Cluster.Attach(inbox{s.realm}); err != nil {
			return nil, err
		}
	}
	if s.ws == nil {
		s.ws, err = websocket.NewServer(websocket.Config{
			MaxMessageSize: max(1<<20, 2*int64(cfg.MaxMessageSize)),
			CheckOrigin:    cfg.CheckOrigin,
			Logger:         cfg.Logger,
		})
		if err != nil {
			return nil, err
		}
		s.ownWS = true
	}
	return s, nil
}

// info is what GET {Path} answers, as the stock server does.
const info = `{"name":"PeerJS Server","description":"A server side element to broker connections between PeerJS clients.","website":"https://peerjs.com/"}`

// ServeHTTP serves the PeerJS HTTP API and WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.cfg.Path)
	if !ok || (rest != "" && rest[0] != '/') {
		http.NotFound(w, r)
		return
	}
	s.startSweeper()
	if rest == "/peerjs" && websocket.IsUpgradeRequest(r) {
		s.upgrade(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*") // the stock server reflects any origin
	if rest == "" || rest == "/" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, info)
		return
	}
	key, method, ok := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	if !ok || key == "" {
		http.NotFound(w, r)
		return
	}
	switch method {
	case "id":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, newID())
	case "peers":
		if !s.cfg.AllowDiscovery || key != s.cfg.Key {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(s.realm.ids())
	default:
		http.NotFound(w, r)
	}
}

// newID returns a random UUID (version 4), the stock server's id form.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := &wsConn{srv: s, key: q.Get("key"), id: q.Get("id"), token: q.Get("token")}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	if _, err := s.ws.Upgrade(w, r, c); err != nil {
		s.cfg.Logger.Debug("peerjs: upgrade failed", "remote", r.RemoteAddr, "err", err)
		s.forget(c)
	}
}

func (s *Server) forget(c *wsConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.closed && len(s.conns) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

// startSweeper starts the goroutine that runs realm.sweep, once.
func (s *Server) startSweeper() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	every := min(s.cfg.AliveTimeout, s.cfg.ExpireTimeout, s.cfg.LeaveGrace) / 5
	every = min(max(every, 5*time.Millisecond), time.Second)
	go func() {
		defer close(s.sweeperD)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.realm.sweep(s.cfg.Now())
			}
		}
	}()
}

// Shutdown stops the sweeper, closes every PeerJS socket with 1001 (going
// away) and waits until they are closed or ctx is done. When the WebSocket
// engine is the server's own, it is shut down too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	started := s.started
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	if len(s.conns) == 0 && !already {
		close(s.drained)
	}
	s.mu.Unlock()
	if already {
		return nil
	}
	close(s.stop)
	if started {
		<-s.sweeperD
	}
	for _, c := range conns {
		c.goAway()
	}
	var err error
	select {
	case <-s.drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if s.ownWS {
		err = errors.Join(err, s.ws.Shutdown(ctx))
	}
	return err
}

// wsConn is one PeerJS WebSocket: the websocket.Handler for it and the
// realm's conn. The engine calls the handler methods one at a time.
type wsConn struct {
	srv            *Server
	key, id, token string
	mu             sync.Mutex // guards c against goAway
	c              *websocket.Conn
	client         *client
}

func (w *wsConn) OnOpen(c *websocket.Conn) {
	w.mu.Lock()
	w.c = c
	w.mu.Unlock()
	w.client = w.srv.realm.open(w, w.key, w.id, w.token, w.srv.cfg.Now())
}

func (w *wsConn) OnMessage(_ *websocket.Conn, _ websocket.MessageType, data []byte) {
	if w.client != nil {
		w.srv.realm.handle(w.client, w, data, w.srv.cfg.Now())
	}
}

func (w *wsConn) OnClose(_ *websocket.Conn, err error) {
	w.srv.cfg.Logger.Debug("peerjs: socket closed", "id", w.id, "err", err)
	if w.client != nil {
		w.srv.realm.closed(w.client, w, w.srv.cfg.Now())
	}
	w.srv.forget(w)
}

func (w *wsConn) Send(frame []byte) error { return w.c.WriteMessage(websocket.TextMessage, frame) }

func (w *wsConn) Close() { _ = w.c.Close(websocket.StatusNormalClosure, "") }

func (w *wsConn) goAway() {
	w.mu.Lock()
	c := w.c
	w.mu.Unlock()
	if c != nil {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
	}
}

// Len returns the number of connected PeerJS clients.
func (s *Server) Len() int {
	s.realm.mu.Lock()
	defer s.realm.mu.Unlock()
	return s.realm.connected
}

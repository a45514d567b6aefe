package signaling

import (
	"context"
	"errors"
	"net/http"

	"github.com/switchboard/switchboard/signaling/message"
	"github.com/switchboard/switchboard/websocket"
)

// Server is the /signal WebSocket endpoint: a Hub whose peers are WebSocket
// connections, one JSON text frame per message.
type Server struct {
	hub   *Hub
	ws    *websocket.Server
	ownWS bool // ws was made by New; Shutdown shuts it down
}

// New validates cfg and returns a Server. It starts nothing: connections
// arrive through ServeHTTP.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hub, err := NewHub(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{hub: hub, ws: cfg.WebSocket}
	if s.ws == nil {
		s.ws, err = websocket.NewServer(websocket.Config{
			MaxMessageSize: max(1<<20, 2*int64(cfg.MaxMessageSize)),
			PingInterval:   cfg.PingInterval,
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

// Hub returns the server's hub.
func (s *Server) Hub() *Hub { return s.hub }

// ServeHTTP upgrades a request for /signal to a WebSocket and serves the
// signaling protocol on it. A ?token= query parameter is used for joins
// whose frame carries no token (see Config.Auth).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsUpgradeRequest(r) {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this is the WebRTC signaling WebSocket endpoint; connect with a WebSocket client", http.StatusUpgradeRequired)
		return
	}
	h := &connHandler{hub: s.hub, info: ConnInfo{
		Host:   r.Host,
		Token:  r.URL.Query().Get("token"),
		Remote: r.RemoteAddr,
	}}
	if _, err := s.ws.Upgrade(w, r, h); err != nil {
		s.hub.cfg.Logger.Debug("signaling: upgrade failed", "remote", r.RemoteAddr, "err", err)
	}
}

// Shutdown disconnects every signaling client with 1001 (going away) and
// waits until they are gone or ctx is done. When the WebSocket engine is
// the server's own, it is shut down too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.hub.Close()
	var err error
	select {
	case <-s.hub.Drained():
	case <-ctx.Done():
		err = ctx.Err()
	}
	if s.ownWS {
		err = errors.Join(err, s.ws.Shutdown(ctx))
	}
	return err
}

// connHandler connects one WebSocket connection to its hub Session. The
// engine calls it from the connection's reader, one call at a time, which
// is the serialization Session requires.
type connHandler struct {
	hub     *Hub
	info    ConnInfo
	session *Session
}

func (h *connHandler) OnOpen(c *websocket.Conn) {
	s, err := h.hub.Connect(wsPeer{c}, h.info)
	if err != nil {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.session = s
}

// OnMessage hands text and binary frames alike to the session: the
// protocol is JSON, and Decode rejects anything else with bad_json.
func (h *connHandler) OnMessage(_ *websocket.Conn, _ websocket.MessageType, data []byte) {
	if h.session != nil {
		h.session.Handle(data)
	}
}

func (h *connHandler) OnClose(_ *websocket.Conn, _ error) {
	if h.session != nil {
		h.session.Disconnect()
	}
}

// wsPeer is a Peer on a WebSocket connection, whose output queue is bounded
// by websocket.Config.WriteBufferLimit.
type wsPeer struct{ c *websocket.Conn }

func (p wsPeer) Send(frame []byte) error {
	return p.c.WriteMessage(websocket.TextMessage, frame)
}

func (p wsPeer) Close(reason error) {
	code, text := websocket.StatusPolicyViolation, "too many errors"
	if errors.Is(reason, ErrShutdown) {
		code, text = websocket.StatusGoingAway, "server shutting down"
	} else if c := message.CodeOf(reason); c != message.CodeInternal {
		text += ": " + string(c)
	}
	_ = p.c.Close(code, text)
}

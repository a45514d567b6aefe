package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engineio/packet"
	"github.com/switchboard/switchboard/websocket"
)

// The WebSocket transport (protocol v4, section "Transports / WebSocket"):
// every packet in its own frame, text packets in text frames, binary
// messages as raw binary frames. Connections belong to the WebSocket
// engine (package websocket); its handlers run on the connection's reader
// (an event loop on Linux) and must not block, so neither may the Handler's
// methods when the session is on WebSocket.

type wsUpgrader struct {
	ws  *websocket.Server
	own bool // made by New; shut down by Shutdown
}

func (srv *Server) initWebSocket() error {
	if srv.cfg.WebSocket != nil {
		srv.ws = wsUpgrader{ws: srv.cfg.WebSocket}
		return nil
	}
	ws, err := websocket.NewServer(websocket.Config{
		MaxMessageSize: int64(srv.cfg.MaxPayload),
		CheckOrigin:    srv.checkOrigin,
		Logger:         srv.log,
	})
	if err != nil {
		return err
	}
	srv.ws = wsUpgrader{ws: ws, own: true}
	return nil
}

func (srv *Server) shutdownWebSocket(ctx context.Context) error {
	if !srv.ws.own {
		return nil
	}
	err := srv.ws.ws.Shutdown(ctx)
	if errors.Is(err, websocket.ErrServerClosed) {
		err = nil
	}
	return err
}

func isUpgradeRequest(r *http.Request) bool { return websocket.IsUpgradeRequest(r) }

// wsTransport is one WebSocket connection of a session: its websocket.Handler
// and its frameConn.
type wsTransport struct {
	srv  *Server
	s    *Socket // nil until OnOpen for a handshake
	conn *websocket.Conn
	// probe: the connection is upgrading s from polling; it turns false
	// when the upgrade completes. Only t's handlers (one goroutine) use it.
	probe   bool
	req     handshake // the handshake request, until OnOpen
	arrived time.Time // when it arrived
}

// handshakeWebSocket opens a WebSocket-only session; the open packet is the
// first frame (section "Handshake"), with no upgrades.
func (srv *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request, arrived time.Time) {
	t := &wsTransport{srv: srv, req: handshakeRequest(r), arrived: arrived}
	if _, err := srv.ws.ws.Upgrade(w, r, t); err != nil {
		srv.log.Debug("engineio: websocket handshake failed", "err", err, "remote", r.RemoteAddr)
	}
}

// upgradeWebSocket accepts a probe connection for session s (section
// "Upgrade"). A session that is already upgrading or upgraded gets its
// connection closed at once, as in the reference (lib/server.ts,
// onWebSocket).
func (srv *Server) upgradeWebSocket(w http.ResponseWriter, r *http.Request, s *Socket) {
	t := &wsTransport{srv: srv, s: s, probe: true}
	if _, err := srv.ws.ws.Upgrade(w, r, t); err != nil {
		srv.log.Debug("engineio: websocket upgrade failed", "err", err, "sid", s.id)
	}
}

// OnOpen implements websocket.Handler.
func (t *wsTransport) OnOpen(c *websocket.Conn) {
	t.conn = c
	if t.probe {
		t.s.attachProbe(t)
		return
	}
	req := t.req
	t.req = handshake{}
	if t.srv.openSession(req, t, t.arrived) == nil {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
	}
}

// OnMessage implements websocket.Handler.
func (t *wsTransport) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	s := t.s
	if s == nil {
		return
	}
	if len(data) > t.srv.cfg.MaxPayload {
		if t.probe {
			s.probeFailed(t)
			return
		}
		t.srv.stats.tooLarge.Add(1)
		s.closeWith(ReasonTransportError, ErrPayloadTooLarge, false)
		return
	}
	var p packet.Packet
	if typ == websocket.BinaryMessage {
		p = packet.DecodeBinary(data)
	} else {
		var err error
		if p, err = packet.DecodeText(data); err != nil {
			if t.probe {
				s.probeFailed(t)
				return
			}
			s.closeWith(ReasonParseError, err, false)
			return
		}
	}
	if t.probe {
		// Still a probe: t.probe turns false (on this goroutine) when the
		// upgrade completes.
		s.onProbePacket(t, p)
		return
	}
	if p.Type == packet.Message {
		t.srv.stats.websocket.in(len(p.Data))
	}
	s.onPacket(p)
}

// OnClose implements websocket.Handler.
func (t *wsTransport) OnClose(c *websocket.Conn, err error) {
	s := t.s
	if s == nil {
		return
	}
	s.mu.Lock()
	switch {
	case s.probe == t:
		s.dropProbeLocked()
	case s.ws == t && s.state != stClosed:
		// The client's Close frame ends the session normally; anything
		// else (our engine failing the connection for a protocol
		// violation or an oversized message, an I/O error) is a
		// transport error.
		reason, cerr := ReasonTransportClose, error(nil)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Local {
			reason, cerr = ReasonTransportError, err
			if ce != nil && ce.Code == websocket.StatusMessageTooBig {
				cerr = fmt.Errorf("%w: %w", ErrPayloadTooLarge, err)
			}
		}
		s.closeLocked(reason, cerr, false)
	}
	s.mu.Unlock()
	s.notifyClose()
}

// send writes m in one frame. A Message sent on a second WebSocket is
// encoded once more as a websocket.PreparedMessage, which every later send
// reuses: a broadcast builds its frame once.
func (t *wsTransport) send(m *Message) error {
	typ := websocket.TextMessage
	if m.binary {
		typ = websocket.BinaryMessage
	}
	if m.wsSends.Add(1) == 1 {
		return t.conn.WriteMessage(typ, m.wire)
	}
	m.prepOnce.Do(func() {
		m.prep, _ = websocket.NewPreparedMessage(typ, m.wire) // only fails on a bad type
	})
	return t.conn.WritePrepared(m.prep)
}

func (t *wsTransport) buffered() int { return t.conn.Buffered() }

func (t *wsTransport) close(code int, reason string) {
	_ = t.conn.Close(websocket.StatusCode(code), reason)
}

// attachProbe makes t the session's upgrade candidate, unless the session
// is closing, already on WebSocket or already probing: then t is closed.
func (s *Socket) attachProbe(t *wsTransport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stOpen || s.transport != Polling || s.probe != nil {
		t.close(closeNormal, "")
		return
	}
	s.probe = t
	s.upgradeTimer = time.AfterFunc(s.srv.cfg.UpgradeTimeout, func() {
		if !s.srv.enter() {
			return
		}
		defer s.srv.leave()
		s.probeFailed(t)
	})
}

// probeFailed abandons the upgrade through t, if t is still the probe, and
// closes t. The session stays on polling.
func (s *Socket) probeFailed(t *wsTransport) {
	s.mu.Lock()
	if s.probe == t {
		s.dropProbeLocked()
	}
	s.mu.Unlock()
	t.close(closeNormal, "")
}

func (s *Socket) dropProbeLocked() {
	s.probe = nil
	if s.upgradeTimer != nil {
		s.upgradeTimer.Stop()
		s.upgradeTimer = nil
	}
	if s.noopTimer != nil {
		s.noopTimer.Stop()
		s.noopTimer = nil
	}
}

// upgradeNoopInterval is how often a probed session ends its pending poll
// with a noop: the reference's "check" interval (lib/socket.ts,
// _maybeUpgrade: setInterval(check, 100)).
const upgradeNoopInterval = 100 * time.Millisecond

// armNoopLocked starts, for a session probed through t, the timer that ends
// the pending poll with a noop every upgradeNoopEvery until the upgrade
// completes or fails, so that a client waiting to pause polling is not held
// until the next ping (section "Upgrade": "send a noop packet to any pending
// GET request"). As in the reference, not at once: a poll that packets
// answer first ends without a noop, so a client whose upgrade completes
// quickly sees no noop at all (socket.io-client's test "should not emit a
// packet twice in the 'connect' handler" counts the packets it receives).
func (s *Socket) armNoopLocked(t frameConn) {
	if s.noopTimer != nil { // a second "2probe"; the reference restarts its interval
		s.noopTimer.Stop()
	}
	s.noopTimer = time.AfterFunc(s.srv.upgradeNoopEvery, func() {
		if !s.srv.enter() {
			return
		}
		defer s.srv.leave()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.probe != t || s.noopTimer == nil || s.state != stOpen {
			return
		}
		if s.poll != nil {
			s.answerPollLocked(append([]byte(nil), s.srv.noop.wire...))
		}
		s.noopTimer.Reset(s.srv.upgradeNoopEvery)
	})
}

// onProbePacket runs the upgrade (section "Upgrade"): "2probe" is answered
// "3probe" and from then on pending polls get a noop (armNoopLocked) so that
// the client can pause polling; "5" switches the session to t and flushes the queued packets to
// it in order. Anything else abandons the upgrade (the reference closes the
// probe, lib/socket.ts _maybeUpgrade).
func (s *Socket) onProbePacket(t *wsTransport, p packet.Packet) {
	s.mu.Lock()
	if s.probe != t {
		s.mu.Unlock()
		return
	}
	switch {
	case p.Type == packet.Ping && string(p.Data) == "probe":
		_ = t.send(s.srv.pongProbe)
		s.armNoopLocked(t)
		s.mu.Unlock()
	case p.Type == packet.Upgrade && s.state == stOpen:
		t.probe = false // t's handlers run on this goroutine only
		s.dropProbeLocked()
		if s.poll != nil {
			s.answerPollLocked(append([]byte(nil), s.srv.noop.wire...))
		}
		s.transport = WebSocket
		s.ws = t
		for i, m := range s.queue {
			if err := t.send(m); err != nil {
				s.queue = s.queue[i+1:]
				s.closeLocked(ReasonTransportError, err, false)
				break
			}
		}
		s.queue, s.queued = nil, 0
		s.mu.Unlock()
		s.notifyClose()
	default:
		s.dropProbeLocked()
		s.mu.Unlock()
		t.close(closeNormal, "")
	}
}

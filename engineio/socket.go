package engineio

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/engineio/packet"
)

type sockState uint8

const (
	stOpen    sockState = iota
	stClosing           // closed for the application; the final packets wait for the client's next poll
	stClosed
)

// frameConn is a WebSocket connection as a session sees it: one packet per
// frame (protocol v4, section "Transports / WebSocket"). Its methods never
// block on the network; they are called with Socket.mu held.
type frameConn interface {
	send(m *Message) error
	close(code int, reason string)
	buffered() int // bytes queued and not yet written
}

// writableBacklog is how much unsent output a WebSocket may hold and still
// be Writable. A healthy connection's output drains at every flush of its
// event loop, so a backlog this large means the kernel's send buffer is full:
// the peer does not read fast enough.
const writableBacklog = 64 << 10

// WebSocket close codes the sessions use (RFC 6455 §7.4.1).
const (
	closeNormal      = 1000
	closeGoingAway   = 1001
	closeUnsupported = 1003
	closeTooBig      = 1009
)

// Socket is one Engine.IO session: a client identified by its sid, on
// whichever transport it currently uses.
//
// Its methods are safe for concurrent use. Send and SendMessage never block
// on the network: on WebSocket they queue the frame on the connection, on
// polling they hold the packet until the client's next GET, bounded by
// Config.WriteQueueLimit.
type Socket struct {
	srv *Server
	id  string
	req handshake

	// mu guards the fields below. It is held while writing to the
	// transport, which is what orders a session's output: one queue and one
	// writer at a time. Lock order: Socket.mu before Server.mu and before
	// the WebSocket connection's own lock; neither is held while taking mu.
	mu        sync.Mutex
	state     sockState
	transport Transport
	ws        frameConn // the connection when transport is WebSocket
	value     any

	// Polling: packets the client has not collected yet, the pending GET
	// and whether a POST is being read.
	queue   []*Message
	queued  int
	poll    *pollWait
	posting bool

	// Upgrade to WebSocket: the probe connection, its deadline and, once
	// probed ("2probe" answered with "3probe"), the timer that ends pending
	// polls with a noop (see armNoopLocked).
	probe        frameConn
	upgradeTimer *time.Timer
	noopTimer    *time.Timer

	// Heartbeat (section "Heartbeat"): one timer, due at hbDue, either
	// sending the next ping or, when awaitPong, closing the session.
	hb        *time.Timer
	hbDue     time.Time
	awaitPong bool

	closeTimer *time.Timer // bounds stClosing
	reason     Reason
	closeErr   error

	// Delivery to the Handler: recvMu makes OnMessage calls one at a
	// time; OnClose is called once, by whoever finds recvMu free after
	// closePending is set (see notifyClose).
	recvMu        sync.Mutex
	closePending  atomic.Bool
	closeNotified bool // guarded by recvMu
}

// pollWait is a pending long-polling GET. Whoever answers it sets body,
// detaches it from the socket and closes done, all under Socket.mu.
type pollWait struct {
	done chan struct{}
	body []byte
}

// ID returns the session id (the "sid" of the handshake).
func (s *Socket) ID() string { return s.id }

// Request returns a copy of the handshake request: method, URL and query,
// headers, host, remote address and TLS state. Its body is empty and its
// context is not the request's. The session keeps the request in a compact
// form, so each call builds a new copy, which the caller may modify.
func (s *Socket) Request() *http.Request { return s.req.request() }

// Transport returns the transport the session currently uses.
func (s *Socket) Transport() Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// SetValue attaches an application value to the socket.
func (s *Socket) SetValue(v any) {
	s.mu.Lock()
	s.value = v
	s.mu.Unlock()
}

// Value returns the value set by SetValue.
func (s *Socket) Value() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// Writable reports whether the session's transport can take a message now
// (engine.io's transport.writable), for messages worth sending only then,
// such as Socket.IO's volatile events. It is false
//   - once the session is closing;
//   - on polling, while packets wait for a client that has no GET pending;
//   - during an upgrade to WebSocket, whose packets wait for the new
//     transport;
//   - on WebSocket, while more than 64 KiB of output wait to be written (the
//     peer is not reading).
func (s *Socket) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state != stOpen:
		return false
	case s.transport == WebSocket:
		return s.ws.buffered() <= writableBacklog
	case s.probe != nil:
		return false
	default:
		return s.poll != nil || len(s.queue) == 0
	}
}

// Send sends one message packet; binary selects a binary message. data is
// copied. See SendMessage.
func (s *Socket) Send(data []byte, binary bool) error {
	return s.SendMessage(NewMessage(data, binary))
}

// SendMessage sends m, which may be shared with any number of sockets (a
// broadcast encodes once). It returns ErrClosed once the socket is closing,
// and ErrSlowConsumer when the socket's outbound queue overflowed (the
// socket is then closed).
func (s *Socket) SendMessage(m *Message) error {
	s.mu.Lock()
	if s.state != stOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	err := s.sendLocked(m)
	s.mu.Unlock()
	s.notifyClose()
	return err
}

// Close closes the session (ReasonForcedClose). Packets already sent are
// delivered first: on WebSocket they precede the Close frame; on polling
// the client's next GET collects them with a close packet. It returns
// ErrClosed if the session was already closing.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.state != stOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closeLocked(ReasonForcedClose, nil, true)
	s.mu.Unlock()
	s.notifyClose()
	return nil
}

// sendLocked writes m to the current transport or queues it for the next
// poll. Errors close the session.
func (s *Socket) sendLocked(m *Message) error {
	if s.transport == WebSocket {
		err := s.ws.send(m)
		if err != nil {
			s.srv.stats.countSendError(err)
			s.closeLocked(ReasonTransportError, err, false)
			return err
		}
		s.srv.stats.websocket.out(m)
		return nil
	}
	if s.queued+m.size() > s.srv.cfg.WriteQueueLimit {
		s.srv.stats.countSendError(ErrSlowConsumer)
		s.closeLocked(ReasonTransportError, ErrSlowConsumer, false)
		return ErrSlowConsumer
	}
	s.srv.stats.polling.out(m)
	s.queue = append(s.queue, m)
	s.queued += m.size()
	if s.poll != nil {
		s.answerPollLocked(s.takeQueueLocked(nil))
	}
	return nil
}

// takeQueueLocked appends the queued packets' payload to dst and empties
// the queue.
func (s *Socket) takeQueueLocked(dst []byte) []byte {
	dst = appendPayload(dst, s.queue)
	clear(s.queue)
	s.queue = s.queue[:0]
	s.queued = 0
	if cap(s.queue) > 64 {
		s.queue = nil // do not pin a burst's backing array
	}
	return dst
}

func (s *Socket) answerPollLocked(body []byte) {
	pw := s.poll
	s.poll = nil
	pw.body = body
	close(pw.done)
}

// closeWith closes the session and notifies the Handler.
func (s *Socket) closeWith(reason Reason, err error, graceful bool) {
	s.mu.Lock()
	s.closeLocked(reason, err, graceful)
	s.mu.Unlock()
	s.notifyClose()
}

// closeLocked moves the session out of stOpen. A graceful close on polling
// keeps the queued packets for the client's next GET (stClosing, bounded by
// PingInterval+PingTimeout); every other close ends the session now. The
// caller must call notifyClose after unlocking.
func (s *Socket) closeLocked(reason Reason, err error, graceful bool) {
	if s.state == stOpen {
		s.reason, s.closeErr = reason, err
		s.closePending.Store(true)
		s.stopHeartbeatLocked()
		if s.probe != nil {
			s.probe.close(closeGoingAway, "session closed")
			s.dropProbeLocked()
		}
	} else if s.state == stClosed || graceful {
		return
	}
	if graceful && s.transport == Polling && s.poll == nil {
		s.state = stClosing
		if s.closeTimer == nil {
			s.closeTimer = time.AfterFunc(s.srv.cfg.PingInterval+s.srv.cfg.PingTimeout, s.onCloseTimeout)
		}
		return
	}
	s.finishLocked(graceful, closeCode(reason, err))
}

// finishLocked ends the session: answers the pending poll (with the queued
// packets and a close packet when graceful, a close packet otherwise),
// closes the WebSocket and removes the session from the server.
func (s *Socket) finishLocked(graceful bool, code int) {
	s.state = stClosed
	if s.closeTimer != nil {
		s.closeTimer.Stop()
	}
	switch s.transport {
	case Polling:
		if s.poll != nil {
			var body []byte
			if graceful && len(s.queue) > 0 {
				body = append(s.takeQueueLocked(nil), packet.Separator)
			}
			s.answerPollLocked(append(body, s.srv.closePkt.wire...))
		}
	case WebSocket:
		s.ws.close(code, string(s.reason))
	}
	s.queue, s.queued = nil, 0
	s.srv.remove(s)
}

func (s *Socket) onCloseTimeout() {
	if !s.srv.enter() {
		return
	}
	defer s.srv.leave()
	s.mu.Lock()
	if s.state == stClosing {
		s.finishLocked(false, closeNormal)
	}
	s.mu.Unlock()
}

// closeCode is the WebSocket close code for a session closed for reason.
func closeCode(reason Reason, err error) int {
	switch {
	case errors.Is(err, ErrPayloadTooLarge):
		return closeTooBig
	case reason == ReasonParseError:
		return closeUnsupported
	case reason == ReasonServerShutdown:
		return closeGoingAway
	}
	return closeNormal
}

// clientClosed handles the client's close packet (section "Protocol", type
// close): the pending poll, if any, ends with a noop as in the reference
// implementation (lib/transports/polling.ts, Polling#onClose).
func (s *Socket) clientClosed() {
	s.mu.Lock()
	if s.state == stOpen {
		if s.poll != nil {
			s.answerPollLocked(append([]byte(nil), s.srv.noop.wire...))
		}
		s.closeLocked(ReasonTransportClose, nil, false)
	}
	s.mu.Unlock()
	s.notifyClose()
}

// deliver hands one message to the Handler, one call at a time.
func (s *Socket) deliver(data []byte, binary bool) {
	s.recvMu.Lock()
	if !s.closePending.Load() {
		s.srv.h.OnMessage(s, data, binary)
	}
	s.recvMu.Unlock()
	s.notifyClose()
}

// notifyClose calls OnClose once the session is closed and no OnMessage is
// running. If one is (perhaps the caller's own), the deliverer calls it when
// it returns: it re-checks closePending after unlocking recvMu.
func (s *Socket) notifyClose() {
	if !s.closePending.Load() || !s.recvMu.TryLock() {
		return
	}
	if !s.closeNotified {
		s.closeNotified = true
		s.mu.Lock()
		reason, err, t := s.reason, s.closeErr, s.transport
		s.mu.Unlock()
		s.srv.log.Debug("engineio: session closed", "sid", s.id, "transport", t, "reason", reason, "err", err)
		s.srv.h.OnClose(s, reason, err)
	}
	s.recvMu.Unlock()
}

// onPacket handles a packet from the session's transport.
func (s *Socket) onPacket(p packet.Packet) {
	switch p.Type {
	case packet.Message:
		s.deliver(p.Data, p.Binary)
	case packet.Pong:
		s.onPong()
	case packet.Close:
		s.clientClosed()
	case packet.Ping:
		// In v4 only the server pings (section "Heartbeat"); the reference
		// closes with "invalid heartbeat direction".
		s.closeWith(ReasonTransportError, errPingFromClient, false)
	default:
		// open, upgrade and noop mean nothing from a client on an
		// established transport; the reference ignores them too.
	}
}

var errPingFromClient = errors.New("engineio: invalid heartbeat direction (ping from client)")

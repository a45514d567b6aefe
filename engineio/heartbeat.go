package engineio

import "time"

// The heartbeat of protocol v4 (section "Heartbeat"): the server sends a
// ping every PingInterval and expects the pong within PingTimeout, else it
// closes the session with ReasonPingTimeout. As in the reference
// (lib/socket.ts, Socket#schedulePing and #resetPingTimeout) the interval
// restarts when the pong arrives.
//
// One runtime timer per session does both jobs; it costs no goroutine while
// it waits. hbDue makes a stale firing harmless: a timer reset while its
// callback was already waiting for Socket.mu finds hbDue in the future.

// startHeartbeatLocked schedules the first ping, PingInterval after the
// handshake request arrived (since): the client counts from the handshake
// response, which comes later, so the server's deadlines never trail the
// client's.
func (s *Socket) startHeartbeatLocked(since time.Time) {
	s.hbDue = since.Add(s.srv.cfg.PingInterval)
	s.hb = time.AfterFunc(time.Until(s.hbDue), s.onHeartbeat)
}

func (s *Socket) stopHeartbeatLocked() {
	if s.hb != nil {
		s.hb.Stop()
	}
	s.awaitPong = false
}

func (s *Socket) resetHeartbeatLocked(d time.Duration) {
	s.hbDue = time.Now().Add(d)
	s.hb.Reset(d)
}

func (s *Socket) onHeartbeat() {
	if !s.srv.enter() {
		return
	}
	defer s.srv.leave()
	s.mu.Lock()
	if s.state != stOpen || time.Now().Before(s.hbDue) {
		s.mu.Unlock()
		return
	}
	if s.awaitPong {
		s.closeLocked(ReasonPingTimeout, nil, false)
	} else {
		s.awaitPong = true
		s.armPongDeadlineLocked()
		_ = s.sendLocked(s.srv.ping) // an error closes the session
	}
	s.mu.Unlock()
	s.notifyClose()
}

// armPongDeadlineLocked sets the pong deadline PingTimeout after the ping
// was due (hbDue), not after this callback ran: a timer that fires late on
// a loaded machine does not stretch the session's life, so the server's
// deadline is the one a client computes (pingInterval+pingTimeout after the
// handshake or the last pong), however late the server runs.
func (s *Socket) armPongDeadlineLocked() {
	s.hbDue = s.hbDue.Add(s.srv.cfg.PingTimeout)
	s.hb.Reset(time.Until(s.hbDue))
}

// expiredLocked closes the session if its pong deadline has passed but the
// timers have not run yet, so that a request arriving after the deadline
// always finds the session closed, however late the timers run. Before the
// ping is sent the deadline is PingTimeout after the ping was due: a ping
// that late would reach the client after it gave up on the server.
func (s *Socket) expiredLocked() bool {
	if s.state != stOpen || s.hb == nil {
		return s.state != stOpen
	}
	deadline := s.hbDue
	if !s.awaitPong {
		deadline = deadline.Add(s.srv.cfg.PingTimeout)
	}
	if !time.Now().Before(deadline) {
		s.closeLocked(ReasonPingTimeout, nil, false)
	}
	return s.state != stOpen
}

// onPong handles the client's pong: the next ping is due PingInterval from
// now. A pong that answers no ping is ignored.
func (s *Socket) onPong() {
	s.mu.Lock()
	if s.state == stOpen && s.awaitPong {
		s.awaitPong = false
		s.resetHeartbeatLocked(s.srv.cfg.PingInterval)
	}
	s.mu.Unlock()
}

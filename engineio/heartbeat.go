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
// handshake.
func (s *Socket) startHeartbeatLocked() {
	d := s.srv.cfg.PingInterval
	s.hbDue = time.Now().Add(d)
	s.hb = time.AfterFunc(d, s.onHeartbeat)
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
		s.resetHeartbeatLocked(s.srv.cfg.PingTimeout)
		_ = s.sendLocked(s.srv.ping) // an error closes the session
	}
	s.mu.Unlock()
	s.notifyClose()
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

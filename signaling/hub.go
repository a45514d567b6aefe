package signaling

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/signaling/message"
)

// Hub implements the /signal protocol over any transport. Each client is a
// Session, created by Connect; the transport feeds it frames with
// Session.Handle and reports the end of the connection with
// Session.Disconnect.
type Hub struct {
	cfg    Config
	ctx    context.Context // canceled by Close; passed to the Authenticator
	cancel context.CancelFunc

	stats counters

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool
	drained  chan struct{} // closed when closed && len(sessions) == 0
}

// NewHub validates cfg and returns a Hub. It starts nothing.
func NewHub(cfg Config) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg:      cfg,
		ctx:      ctx,
		cancel:   cancel,
		sessions: make(map[*Session]struct{}),
		drained:  make(chan struct{}),
	}, nil
}

// ConnInfo describes a client's connection.
type ConnInfo struct {
	// Host is the host the client connected to (the HTTP Host header); it
	// replaces "{host}" in ICE server URLs.
	Host string
	// Token is the token given outside the join frame (the ?token= query
	// parameter); a join frame's own "token" takes precedence.
	Token string
	// Remote identifies the client in logs.
	Remote string
}

// Connect registers a new client reached through p. After Close it returns
// ErrShutdown.
func (h *Hub) Connect(p Peer, info ConnInfo) (*Session, error) {
	s := &Session{hub: h, peer: p, info: info}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrShutdown
	}
	h.sessions[s] = struct{}{}
	return s, nil
}

// Len returns the number of connected sessions.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Close refuses new sessions and asks every connected peer's transport to
// disconnect it (Peer.Close with ErrShutdown). It returns at once; Drained
// tells when every session has disconnected.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	peers := make([]Peer, 0, len(h.sessions))
	for s := range h.sessions {
		peers = append(peers, s.peer)
	}
	if len(h.sessions) == 0 {
		close(h.drained)
	}
	h.mu.Unlock()
	h.cancel()
	for _, p := range peers {
		p.Close(ErrShutdown)
	}
}

// Drained is closed once the hub is closed and every session disconnected.
func (h *Hub) Drained() <-chan struct{} { return h.drained }

func (h *Hub) remove(s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s)
	if h.closed && len(h.sessions) == 0 {
		select {
		case <-h.drained:
		default:
			close(h.drained)
		}
	}
}

// Session is one client of a Hub. Handle and Disconnect must not be called
// concurrently (a transport calls them from the connection's reader).
//
// Rooms answer joins and relays asynchronously (see Rooms); the session
// serializes itself: while a join is in flight the frames that follow wait
// in a bounded queue, and results arrive under the session's lock.
type Session struct {
	hub  *Hub
	peer Peer
	info ConnInfo

	mu             sync.Mutex // guards the fields below against Rooms' completions
	id, name, room string     // set while joined
	rate, errs     bucket
	closing        bool     // disconnected for abuse; waiting for Disconnect
	gone           bool     // Disconnect was called
	joining        bool     // a Join is in flight; frames wait in queued
	queued         [][]byte // frames received while joining
}

// maxQueued bounds the frames that wait for a join in flight.
const maxQueued = 64

// ID returns the peer id while the session is in a room, else "".
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Room returns the room the session is in, or "".
func (s *Session) Room() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.room
}

// Handle processes one frame from the client. It never blocks.
func (s *Session) Handle(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || s.closing {
		return
	}
	cfg := &s.hub.cfg
	now := cfg.Now()
	if !s.rate.take(now, cfg.MessageRate, cfg.MessageBurst) {
		s.fail(now, message.Errorf(message.CodeRateLimited, "more than %d frames at once or %g per second; frame dropped", cfg.MessageBurst, cfg.MessageRate))
		return
	}
	if len(frame) > cfg.MaxMessageSize {
		s.fail(now, message.Errorf(message.CodeTooLarge, "frame of %d bytes exceeds the limit of %d", len(frame), cfg.MaxMessageSize))
		return
	}
	if s.joining {
		if len(s.queued) >= maxQueued {
			s.fail(now, message.Errorf(message.CodeRateLimited, "more than %d frames while joining; frame dropped", maxQueued))
			return
		}
		s.queued = append(s.queued, bytes.Clone(frame))
		return
	}
	s.process(frame, now)
}

// process decodes and carries out one frame that passed the limits.
func (s *Session) process(frame []byte, now time.Time) {
	m, err := message.Decode(frame)
	if err == nil {
		switch m.Type {
		case message.TypeJoin:
			err = s.join(&m, now)
		case message.TypeLeave:
			err = s.leave()
		default:
			err = s.relay(&m)
		}
	}
	if err != nil {
		s.fail(now, err)
	}
}

// drain processes the frames that waited for a join, until another join
// is in flight.
func (s *Session) drain() {
	for !s.joining && len(s.queued) > 0 && !s.gone && !s.closing {
		f := s.queued[0]
		s.queued[0] = nil
		s.queued = s.queued[1:]
		s.process(f, s.hub.cfg.Now())
	}
	if s.gone || s.closing || len(s.queued) == 0 {
		s.queued = nil
	}
}

// async calls start with a done function and hands its result to then,
// with s.mu held: at once if done is called before start returns (s.mu
// is then still held by the caller), otherwise on the goroutine that
// calls done, which takes s.mu. It reports whether the result is pending.
func (s *Session) async(start func(done func(error)), then func(error)) (pending bool) {
	var (
		mu       sync.Mutex
		returned bool
		early    bool
		result   error
	)
	start(func(err error) {
		mu.Lock()
		if !returned {
			early, result = true, err
			mu.Unlock()
			return
		}
		mu.Unlock()
		s.mu.Lock()
		defer s.mu.Unlock()
		then(err)
	})
	mu.Lock()
	returned = true
	mu.Unlock()
	if early {
		then(result)
		return false
	}
	return true
}

// Disconnect removes the session: it leaves its room (others get peer-left)
// and is forgotten by the hub. Later calls do nothing.
func (s *Session) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	s.gone = true
	s.queued = nil
	if s.room != "" {
		_ = s.leave()
	}
	// A join still in flight is undone when it completes (joined).
	s.hub.remove(s)
}

// fail answers with an error frame; a client that keeps provoking errors
// beyond Config.MaxErrors is disconnected.
func (s *Session) fail(now time.Time, err error) {
	if s.gone || s.closing {
		return
	}
	var e *message.Error
	if !errors.As(err, &e) {
		s.hub.cfg.Logger.Error("signaling: internal error", "remote", s.info.Remote, "err", err)
		e = message.Errorf(message.CodeInternal, "internal server error")
	}
	_ = s.peer.Send(message.AppendError(nil, e.Code, e.Message))
	s.hub.stats.countError(e.Code)
	if !s.errs.take(now, 1, s.hub.cfg.MaxErrors) {
		s.hub.stats.disconnected.Add(1)
		s.hub.cfg.Logger.Warn("signaling: disconnecting abusive client", "remote", s.info.Remote, "peer", s.id, "last_error", e.Code)
		s.peer.Close(fmt.Errorf("too many errors, last %w", e))
		s.closing = true // ignore frames still in flight; Disconnect cleans up
	}
}

func (s *Session) join(m *message.Message, now time.Time) error {
	if s.room != "" {
		return message.Errorf(message.CodeAlreadyJoined, "already in room %q; leave it first", s.room)
	}
	cfg := &s.hub.cfg
	name := m.Name
	if cfg.Auth != nil {
		tok := m.Token
		if tok == "" {
			tok = s.info.Token
		}
		id, err := cfg.Auth.Authenticate(s.hub.ctx, AuthRequest{Token: tok, Room: m.Room, Name: m.Name})
		if err != nil {
			cfg.Logger.Debug("signaling: join refused", "remote", s.info.Remote, "room", m.Room, "err", err)
			if errors.Is(err, ErrForbidden) {
				return message.Errorf(message.CodeForbidden, "the join token does not admit to room %q", m.Room)
			}
			return message.Errorf(message.CodeUnauthorized, "the join token was refused")
		}
		if id.Name != "" {
			name = id.Name
		}
	}
	id := rand.Text() // 128 random bits in base32: unguessable, and a valid message.ValidID
	room := m.Room
	welcome := func(others []message.Peer) []byte {
		return message.AppendJoined(nil, message.Joined{
			ID: id, Room: room, Peers: others,
			ICEServers: cfg.iceServers(s.info.Host, id, now),
		})
	}
	s.joining = true
	s.async(func(done func(error)) {
		cfg.Rooms.Join(room, Member{ID: id, Name: name, Peer: s.peer}, cfg.MaxRoomSize, welcome, message.AppendPeerJoined(nil, id, name), done)
	}, func(err error) { s.joined(room, id, name, err) })
	return nil
}

// joined takes the result of a join; s.mu is held.
func (s *Session) joined(room, id, name string, err error) {
	s.joining = false
	cfg := &s.hub.cfg
	switch {
	case s.gone:
		if err == nil { // disconnected meanwhile: undo
			cfg.Rooms.Leave(room, id, message.AppendPeerLeft(nil, id))
		}
		return
	case errors.Is(err, ErrRoomFull):
		s.fail(cfg.Now(), message.Errorf(message.CodeRoomFull, "room %q is full (%d peers)", room, cfg.MaxRoomSize))
	case err != nil:
		s.fail(cfg.Now(), fmt.Errorf("join %q: %w", room, err))
	default:
		s.id, s.name, s.room = id, name, room
		s.hub.stats.joins.Add(1)
		cfg.Logger.Debug("signaling: joined", "remote", s.info.Remote, "room", room, "peer", id)
	}
	s.drain()
}

func (s *Session) leave() error {
	if s.room == "" {
		return message.Errorf(message.CodeNotJoined, "not in a room")
	}
	s.hub.cfg.Rooms.Leave(s.room, s.id, message.AppendPeerLeft(nil, s.id))
	s.hub.stats.leaves.Add(1)
	s.hub.cfg.Logger.Debug("signaling: left", "remote", s.info.Remote, "room", s.room, "peer", s.id)
	s.id, s.name, s.room = "", "", ""
	return nil
}

func (s *Session) relay(m *message.Message) error {
	if s.room == "" {
		return message.Errorf(message.CodeNotJoined, "join a room before sending %s", m.Type)
	}
	if m.To == s.id {
		return message.Errorf(message.CodeUnknownPeer, "cannot send %s to yourself", m.Type)
	}
	frame := m.AppendRelay(nil, s.id)
	room, from, to, typ := s.room, s.id, m.To, m.Type
	if mr, ok := s.hub.cfg.Rooms.(*MemoryRooms); ok {
		// The hot path of a single node: the answer is immediate, so
		// skip the callback and its allocations.
		s.relayed(room, to, typ, mr.deliver(room, from, to, frame))
		return nil
	}
	s.async(func(done func(error)) { s.hub.cfg.Rooms.Deliver(room, from, to, frame, done) }, func(err error) {
		s.relayed(room, to, typ, err)
	})
	return nil
}

// relayed takes the result of a relay; s.mu is held.
func (s *Session) relayed(room, to string, typ message.Type, err error) {
	switch {
	case err == nil:
		s.hub.stats.relayed.Add(1)
	case errors.Is(err, ErrUnknownPeer):
		s.fail(s.hub.cfg.Now(), message.Errorf(message.CodeUnknownPeer, "peer %q is not in room %q", to, room))
	default:
		s.fail(s.hub.cfg.Now(), fmt.Errorf("deliver %s: %w", typ, err))
	}
}

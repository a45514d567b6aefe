package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/switchboard/switchboard/socketio/packet"
)

// Handshake describes the request that opened a socket's connection and the
// auth payload of its CONNECT packet. Its JSON form has the field names of
// socket.io's socket.handshake.
type Handshake struct {
	Headers http.Header     `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"` // Unix milliseconds
	URL     string          `json:"url"`
	Query   url.Values      `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// MarshalJSON writes headers and query with single values as strings, as
// Node.js presents them.
func (h Handshake) MarshalJSON() ([]byte, error) {
	flat := func(m map[string][]string, lower bool) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			if lower {
				k = toLower(k)
			}
			if len(v) == 1 {
				out[k] = v[0]
			} else {
				out[k] = v
			}
		}
		return out
	}
	type alias struct {
		Headers map[string]any  `json:"headers"`
		Time    string          `json:"time"`
		Address string          `json:"address"`
		XDomain bool            `json:"xdomain"`
		Secure  bool            `json:"secure"`
		Issued  int64           `json:"issued"`
		URL     string          `json:"url"`
		Query   map[string]any  `json:"query"`
		Auth    json.RawMessage `json:"auth"`
	}
	b, _, err := packet.AppendValue(nil, nil, alias{flat(h.Headers, true), h.Time, h.Address, h.XDomain, h.Secure, h.Issued, h.URL, flat(h.Query, false), h.Auth})
	return b, err
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// newHandshake describes r; owned means r is the caller's own copy, whose
// header map the handshake may take without cloning.
func newHandshake(r *http.Request, owned bool, auth json.RawMessage, now time.Time) Handshake {
	h := Handshake{Time: now.UTC().Format(time.RFC1123), Issued: now.UnixMilli(), Auth: auth,
		Headers: http.Header{}, Query: url.Values{}}
	if r != nil {
		h.Headers = r.Header
		if !owned {
			h.Headers = r.Header.Clone()
		}
		if r.Host != "" {
			h.Headers.Set("Host", r.Host)
		}
		h.Address = r.RemoteAddr
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			h.Address = host
		}
		h.XDomain = r.Header.Get("Origin") != ""
		h.Secure = r.TLS != nil
		h.URL = r.URL.RequestURI()
		h.Query = r.URL.Query()
	}
	return h
}

// newID returns a random 20-character URL-safe id, like socket.io's base64id.
func newID() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Socket is one client's membership of one namespace. All methods are safe for
// concurrent use.
type Socket struct {
	nsp    *Namespace
	client *client
	id     string
	pid    string // private session id for connection-state recovery
	// The handshake is built on demand from the request the Engine.IO
	// session keeps anyway (compactly): an idle socket holds no copy of its
	// headers.
	auth   json.RawMessage
	issued time.Time

	ctx    context.Context
	cancel context.CancelCauseFunc

	recovered     bool
	restoredRooms []string
	missed        []*packet.Packet

	mu        sync.Mutex
	connected bool
	closing   bool
	acks      map[uint64]func(Args, error)
	data      any
	events    map[string]EventHandler
}

func newSocket(n *Namespace, c *client, auth json.RawMessage) *Socket {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Socket{nsp: n, client: c, id: newID(), auth: auth, issued: time.Now(), ctx: ctx, cancel: cancel}
}

func (s *Socket) restore(sess *Session) {
	s.id, s.pid = sess.SID, sess.PID
	s.recovered = true
	s.restoredRooms = sess.Rooms
	s.data = sess.Data
	s.missed = sess.Missed
}

// ID is the socket's id, unique in its namespace; the socket is always in the
// room of this name.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the details of the socket's connection. Each call builds
// a fresh copy, so call it once per use rather than per field.
func (s *Socket) Handshake() Handshake {
	r, owned := s.client.request()
	return newHandshake(r, owned, s.auth, s.issued)
}

// Request is the HTTP request that opened the socket's Engine.IO session (nil
// when the transport gave none). With an engineio.Socket each call returns a
// new copy; a request handed to Server.Open is returned as is: treat it as
// read-only.
func (s *Socket) Request() *http.Request {
	r, _ := s.client.request()
	return r
}

// ConnID is the id of the Engine.IO session that carries the socket.
func (s *Socket) ConnID() string { return s.client.conn.ID() }

// Recovered reports whether connection-state recovery restored this socket.
func (s *Socket) Recovered() bool { return s.recovered }

// Context is cancelled when the socket disconnects.
func (s *Socket) Context() context.Context { return s.ctx }

// Connected reports whether the socket is still in its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected && !s.closing
}

func (s *Socket) setConnected() {
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
}

// SetData attaches an application value to the socket (socket.io's
// socket.data). It is kept by connection-state recovery and returned by
// FetchSockets; with a cluster adapter it must encode to JSON.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Data returns the value set with SetData.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// On sets a handler of event for this socket only; it takes precedence over
// the namespace's handler.
func (s *Socket) On(event string, h EventHandler) {
	if packet.IsReservedEvent(event) {
		panic("socketio: " + event + " is a reserved event name")
	}
	s.mu.Lock()
	if s.events == nil {
		s.events = map[string]EventHandler{}
	}
	s.events[event] = h
	s.mu.Unlock()
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) { s.nsp.adapter.AddAll(s.id, rooms) }

// Leave removes the socket from rooms. Its own room (its id) cannot be left.
func (s *Socket) Leave(rooms ...string) {
	for _, r := range rooms {
		s.nsp.adapter.Del(s.id, r)
	}
}

// Rooms returns the rooms the socket is in, its own id included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// To returns a broadcast operator targeting rooms, without this socket.
func (s *Socket) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []string{s.id}}.To(rooms...)
}

// In is the same as To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Broadcast returns an operator targeting every other socket of the namespace.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// Emit sends an event to the client. Binary values ([]byte) may appear at any
// depth; see [packet.AppendValue] for how values are encoded.
func (s *Socket) Emit(event string, args ...any) error { return s.emit(event, args, false) }

// EmitVolatile sends an event that is dropped if the transport cannot take it
// right now: when the connection has a method Writable() bool that returns
// false (engineio.Socket: during an upgrade, on polling while packets wait
// for the client's next GET, on WebSocket while the output is backed up).
func (s *Socket) EmitVolatile(event string, args ...any) error { return s.emit(event, args, true) }

func (s *Socket) emit(event string, args []any, volatile bool) error {
	if packet.IsReservedEvent(event) {
		return errors.New("socketio: " + event + " is a reserved event name")
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	if s.nsp.srv.cfg.Recovery != nil && !volatile {
		// Through the adapter so that the packet gets an offset and is kept
		// for replay (socket.ts emit with connectionStateRecovery).
		return BroadcastOperator{nsp: s.nsp, rooms: []string{s.id}, local: true}.Emit(event, args...)
	}
	data, atts, err := buildPayload(&event, args)
	if err != nil {
		return err
	}
	return s.client.writePacket(&packet.Packet{Type: packet.Event, Namespace: s.nsp.name, Data: data, Attachments: atts}, volatile)
}

// EmitWithAck sends an event and waits for the client's acknowledgement, until
// ctx ends or the socket disconnects; the error is then an *AckError.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if packet.IsReservedEvent(event) {
		return Args{}, errors.New("socketio: " + event + " is a reserved event name")
	}
	data, atts, err := buildPayload(&event, args)
	if err != nil {
		return Args{}, err
	}
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	id, ok := s.registerAck(func(a Args, err error) { ch <- result{a, err} })
	if !ok {
		return Args{}, &AckError{Event: event, Err: ErrDisconnected}
	}
	p := &packet.Packet{Type: packet.Event, Namespace: s.nsp.name, ID: id, HasID: true, Data: data, Attachments: atts}
	if err := s.client.writePacket(p, false); err != nil {
		s.dropAck(id)
		return Args{}, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return Args{}, &AckError{Event: event, Err: r.err}
		}
		return r.args, nil
	case <-ctx.Done():
		s.dropAck(id)
		select {
		case r := <-ch: // the reply raced the deadline
			if r.err == nil {
				return r.args, nil
			}
		default:
		}
		// A handler's ctx ends with ErrDisconnected as its cause.
		return Args{}, &AckError{Event: event, Err: context.Cause(ctx)}
	}
}

// registerAck stores f under a fresh ack id; it fails once the socket is
// closing. f is called at most once.
func (s *Socket) registerAck(f func(Args, error)) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return 0, false
	}
	id := s.nsp.newAckID()
	if s.acks == nil {
		s.acks = map[uint64]func(Args, error){}
	}
	s.acks[id] = f
	return id, true
}

// registerAckID stores f under an id shared by a broadcast.
func (s *Socket) registerAckID(id uint64, f func(Args, error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || !s.connected {
		return false
	}
	if s.acks == nil {
		s.acks = map[uint64]func(Args, error){}
	}
	s.acks[id] = f
	return true
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// onAck delivers an ACK packet (socket.ts onack). Unknown ids are ignored.
func (s *Socket) onAck(p *packet.Packet) {
	if !p.HasID {
		return
	}
	s.mu.Lock()
	f := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if f == nil {
		return
	}
	args, err := newArgs(p, 0)
	if err != nil {
		return
	}
	f(args, nil)
}

// onEvent runs the handler of an EVENT packet on the client's handler
// goroutine.
func (s *Socket) onEvent(p *packet.Packet) {
	if !s.Connected() {
		return
	}
	all, err := newArgs(p, 0)
	if err != nil || all.Len() == 0 {
		return
	}
	var event string
	if name, ok := all.String(0); ok {
		event = name
	} else {
		event = string(all.Raw(0)) // numeric event names
	}
	args := Args{raw: all.raw[1:], atts: all.atts}
	h := s.nsp.snapshot()
	for _, mw := range h.packetMW {
		if err := mw(s.ctx, s, event, args); err != nil {
			s.reply(p, nil, err)
			s.reportError(h.onError, err)
			return
		}
	}
	if h.anyHandler != nil {
		h.anyHandler(s.ctx, s, event, args)
	}
	s.mu.Lock()
	handler := s.events[event]
	s.mu.Unlock()
	if handler == nil {
		handler = s.nsp.handler(event)
	}
	if handler == nil {
		return
	}
	ack, err := handler(s.ctx, s, args)
	if err != nil && !p.HasID {
		s.reportError(h.onError, err)
	}
	s.reply(p, ack, err)
}

func (s *Socket) reportError(onError func(*Socket, error), err error) {
	if onError != nil {
		onError(s, err)
		return
	}
	s.nsp.srv.log.Debug("socketio: handler error", "nsp", s.nsp.name, "sid", s.id, "err", err)
}

// reply sends the ACK of p if the client asked for one.
func (s *Socket) reply(p *packet.Packet, ack any, herr error) {
	if !p.HasID || (herr == nil && ack == NoAck) {
		return
	}
	data, atts, err := buildPayload(nil, ackValues(ack, herr))
	if err != nil {
		s.nsp.srv.log.Warn("socketio: cannot encode ack", "nsp", s.nsp.name, "err", err)
		data, atts, _ = buildPayload(nil, ackValues(nil, err))
	}
	s.client.writePacket(&packet.Packet{Type: packet.Ack, Namespace: s.nsp.name, ID: p.ID, HasID: true, Data: data, Attachments: atts}, false)
}

// Disconnect makes the socket leave its namespace. With close the whole
// Engine.IO connection is closed, and every socket it carries disconnects with
// ReasonForcedServerClose; otherwise the client gets a DISCONNECT packet.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.client.abort(ReasonForcedServerClose)
		return
	}
	if !s.Connected() {
		return
	}
	s.client.writePacket(&packet.Packet{Type: packet.Disconnect, Namespace: s.nsp.name}, false)
	s.close(ReasonServerNamespaceDisconnect, true)
}

// interrupt cancels the socket's context and fails its pending acks at once,
// before its disconnect handlers get their turn.
func (s *Socket) interrupt() {
	s.mu.Lock()
	s.closing = true
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	for _, f := range acks {
		f(Args{}, ErrDisconnected)
	}
	s.cancel(ErrDisconnected)
}

// close runs the disconnect sequence once (socket.ts _onclose).
func (s *Socket) close(reason DisconnectReason, _ bool) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	s.mu.Unlock()
	s.interrupt()
	h := s.nsp.snapshot()
	for _, f := range h.onDisconnecting {
		f(s, reason)
	}
	rooms := s.Rooms()
	s.nsp.adapter.DelAll(s.id)
	s.nsp.remove(s)
	s.client.detach(s)
	// Persisted only once the socket is gone, so that a restored socket
	// with the same id cannot lose its rooms to this cleanup.
	if s.nsp.srv.cfg.Recovery != nil && reason.Recoverable() {
		s.nsp.adapter.PersistSession(&Session{SID: s.id, PID: s.pid, Rooms: rooms, Data: s.Data()})
	}
	for _, f := range h.onDisconnect {
		f(s, reason)
	}
}

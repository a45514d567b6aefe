package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/switchboard/switchboard/socketio/packet"
)

// Middleware runs before a socket joins a namespace (socket.io's
// namespace.use). Returning an error refuses the connection with a
// CONNECT_ERROR packet; return a *ConnectError to attach data.
type Middleware func(ctx context.Context, s *Socket) error

// PacketMiddleware runs before the handler of every incoming event
// (socket.io's socket.use). Returning an error drops the event and reports the
// error to the namespace's error handler; if the event asked for an ack, it is
// answered with {"message": err.Error()}.
type PacketMiddleware func(ctx context.Context, s *Socket, event string, args Args) error

// EventHandler handles one event. ctx is cancelled when the socket
// disconnects. If the client asked for an acknowledgement, the returned ack
// becomes its payload: nil sends no arguments, Multi or Args send several,
// NoAck sends nothing at all, any other value sends one; a non-nil err sends
// {"message": err.Error()}.
type EventHandler func(ctx context.Context, s *Socket, args Args) (ack any, err error)

// ConnectionHandler runs when a socket has joined a namespace, after the
// client has been told so.
type ConnectionHandler func(ctx context.Context, s *Socket)

// DisconnectHandler runs when a socket leaves its namespace. In a
// "disconnecting" handler the socket is still in its rooms.
type DisconnectHandler func(s *Socket, reason DisconnectReason)

// registry holds the middleware and handlers of a namespace, shared by the
// children of a ParentNamespace.
type registry struct {
	mu              sync.RWMutex
	middleware      []Middleware
	packetMW        []PacketMiddleware
	events          map[string]EventHandler
	anyHandler      func(ctx context.Context, s *Socket, event string, args Args)
	onConnection    []ConnectionHandler
	onDisconnecting []DisconnectHandler
	onDisconnect    []DisconnectHandler
	onError         func(s *Socket, err error)
}

func newRegistry() *registry { return &registry{events: map[string]EventHandler{}} }

// Use adds connection middleware; middleware runs in the order added.
func (r *registry) Use(mw Middleware) {
	r.mu.Lock()
	r.middleware = append(r.middleware, mw)
	r.mu.Unlock()
}

// UsePacket adds per-packet middleware, run in the order added.
func (r *registry) UsePacket(mw PacketMiddleware) {
	r.mu.Lock()
	r.packetMW = append(r.packetMW, mw)
	r.mu.Unlock()
}

// On sets the handler of event for every socket of the namespace, replacing
// any previous one. Reserved names (connect, disconnect, ...) are refused with
// a panic, as they can never arrive.
func (r *registry) On(event string, h EventHandler) {
	if packet.IsReservedEvent(event) {
		panic("socketio: " + event + " is a reserved event name")
	}
	r.mu.Lock()
	r.events[event] = h
	r.mu.Unlock()
}

// OnAny sets a handler that sees every event before its own handler.
func (r *registry) OnAny(h func(ctx context.Context, s *Socket, event string, args Args)) {
	r.mu.Lock()
	r.anyHandler = h
	r.mu.Unlock()
}

// OnConnection adds a handler for new sockets.
func (r *registry) OnConnection(h ConnectionHandler) {
	r.mu.Lock()
	r.onConnection = append(r.onConnection, h)
	r.mu.Unlock()
}

// OnDisconnecting adds a handler run before a socket leaves its rooms.
func (r *registry) OnDisconnecting(h DisconnectHandler) {
	r.mu.Lock()
	r.onDisconnecting = append(r.onDisconnecting, h)
	r.mu.Unlock()
}

// OnDisconnect adds a handler run after a socket has left.
func (r *registry) OnDisconnect(h DisconnectHandler) {
	r.mu.Lock()
	r.onDisconnect = append(r.onDisconnect, h)
	r.mu.Unlock()
}

// OnError sets the handler of errors from packet middleware and handlers
// that fail without an ack to carry the error. By default they are logged at
// debug level.
func (r *registry) OnError(h func(s *Socket, err error)) {
	r.mu.Lock()
	r.onError = h
	r.mu.Unlock()
}

func (r *registry) snapshot() registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return registry{
		middleware: r.middleware, packetMW: r.packetMW, anyHandler: r.anyHandler,
		onConnection: r.onConnection, onDisconnecting: r.onDisconnecting,
		onDisconnect: r.onDisconnect, onError: r.onError,
	}
}

func (r *registry) handler(event string) EventHandler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.events[event]
}

// Namespace is a Socket.IO namespace: its sockets, their rooms (through its
// Adapter), and its middleware and handlers. All methods are safe for
// concurrent use.
type Namespace struct {
	*registry
	srv     *Server
	name    string
	parent  *ParentNamespace
	adapter Adapter

	ackIDs atomic.Uint64 // ack ids, shared by the namespace's sockets so one broadcast packet can carry one id

	mu         sync.RWMutex
	sockets    map[string]*Socket
	serverSide ServerSideHandler
}

func (n *Namespace) newAckID() uint64 { return n.ackIDs.Add(1) - 1 }

func newNamespace(s *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{srv: s, name: name, parent: parent, sockets: map[string]*Socket{}}
	if parent != nil {
		n.registry = parent.registry
	} else {
		n.registry = newRegistry()
	}
	n.adapter = s.cfg.Adapter(n)
	return n
}

// Name returns the namespace's name, such as "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Socket returns the connected local socket with the given id.
func (n *Namespace) Socket(id string) (*Socket, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	s, ok := n.sockets[id]
	return s, ok
}

// Sockets returns the connected local sockets.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// add runs the connection sequence of a new socket (Namespace._add).
func (n *Namespace) add(c *client, auth json.RawMessage) {
	s := newSocket(n, c, auth)
	rec := n.srv.cfg.Recovery
	if rec != nil {
		var a struct {
			PID    any `json:"pid"`
			Offset any `json:"offset"`
		}
		if json.Unmarshal(auth, &a) == nil {
			pid, ok1 := a.PID.(string)
			off, ok2 := a.Offset.(string)
			if ok1 && ok2 {
				sess, err := n.adapter.RestoreSession(context.Background(), pid, off)
				if err != nil {
					n.srv.log.Debug("socketio: session not restored", "nsp", n.name, "err", err)
				}
				if sess != nil {
					s.restore(sess)
				}
			}
		}
		if s.pid == "" {
			s.pid = newID()
		}
	}
	h := n.snapshot()
	if !s.recovered || rec == nil || rec.RunMiddlewares {
		for _, mw := range h.middleware {
			if err := mw(s.ctx, s); err != nil {
				s.cancel(ErrDisconnected)
				c.writePacket(&packet.Packet{Type: packet.ConnectError, Namespace: n.name, Data: connectErrorPayload(err)}, false)
				return
			}
		}
	}
	if !c.attach(s) {
		s.cancel(ErrDisconnected)
		return
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	rooms := append([]string{s.id}, s.restoredRooms...)
	n.adapter.AddAll(s.id, rooms)
	s.setConnected()

	reply := []byte(`{"sid":`)
	reply = packet.AppendString(reply, s.id)
	if s.pid != "" {
		reply = append(reply, `,"pid":`...)
		reply = packet.AppendString(reply, s.pid)
	}
	reply = append(reply, '}')
	c.writePacket(&packet.Packet{Type: packet.Connect, Namespace: n.name, Data: reply}, false)
	for _, p := range s.missed {
		c.writePacket(p, false)
	}
	s.missed = nil
	for _, h := range h.onConnection {
		h(s.ctx, s)
	}
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
}

func connectErrorPayload(err error) json.RawMessage {
	var ce *ConnectError
	msg := err.Error()
	var data any
	if errors.As(err, &ce) {
		msg, data = ce.Message, ce.Data
	}
	out := []byte(`{"message":`)
	out = packet.AppendString(out, msg)
	if data != nil {
		if b, _, err := packet.AppendValue(nil, nil, data); err == nil {
			out = append(out, `,"data":`...)
			out = append(out, b...)
		}
	}
	return append(out, '}')
}

// To returns a broadcast operator that targets the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{nsp: n}.To(rooms...)
}

// In is the same as To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.To(rooms...) }

// Except returns a broadcast operator that skips the sockets in rooms.
func (n *Namespace) Except(rooms ...string) BroadcastOperator {
	return BroadcastOperator{nsp: n}.Except(rooms...)
}

// Local returns a broadcast operator limited to this node.
func (n *Namespace) Local() BroadcastOperator { return BroadcastOperator{nsp: n, local: true} }

// Volatile returns a broadcast operator whose packets may be dropped.
func (n *Namespace) Volatile() BroadcastOperator { return BroadcastOperator{nsp: n, volatile: true} }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return BroadcastOperator{nsp: n}.Emit(event, args...)
}

// EmitWithAck sends an event to every socket and collects their replies.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return BroadcastOperator{nsp: n}.EmitWithAck(ctx, event, args...)
}

// FetchSockets returns the sockets of the namespace on every node.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return BroadcastOperator{nsp: n}.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error {
	return BroadcastOperator{nsp: n}.SocketsJoin(rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error {
	return BroadcastOperator{nsp: n}.SocketsLeave(rooms...)
}

// DisconnectSockets disconnects every socket of the namespace; with close the
// whole underlying connections are closed.
func (n *Namespace) DisconnectSockets(close bool) error {
	return BroadcastOperator{nsp: n}.DisconnectSockets(close)
}

// ServerSideEmit sends an event to this namespace on the other nodes of the
// cluster (nobody, with the in-memory adapter); their OnServerSideEmit
// handlers receive it.
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	_, err := n.adapter.ServerSideEmit(ctx, event, args, false)
	return err
}

// ServerSideEmitWithAck is ServerSideEmit collecting one answer per other
// node, until every node answered or ctx ends.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.adapter.ServerSideEmit(ctx, event, args, true)
}

// ServerSideHandler handles an event another node sent with ServerSideEmit;
// its result answers ServerSideEmitWithAck.
type ServerSideHandler func(ctx context.Context, event string, args Args) (ack any, err error)

// OnServerSideEmit sets the handler of events from other nodes.
func (n *Namespace) OnServerSideEmit(h ServerSideHandler) {
	n.mu.Lock()
	n.serverSide = h
	n.mu.Unlock()
}

// HandleServerSideEmit is called by cluster adapters with an event from
// another node. It returns the handler's answer as ACK arguments (nil when no
// handler is set).
func (n *Namespace) HandleServerSideEmit(ctx context.Context, event string, args Args) ([]any, error) {
	n.mu.RLock()
	h := n.serverSide
	n.mu.RUnlock()
	if h == nil {
		return nil, nil
	}
	ack, err := h(ctx, event, args)
	return ackValues(ack, err), nil
}

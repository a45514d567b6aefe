package socketio

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/socketio/packet"
)

// client is the Socket.IO state of one Engine.IO connection (client.ts in the
// reference server): its decoder, its sockets by namespace, and the queue
// that runs its handlers in order.
//
// Concurrency: receive and engineClosed come from the transport, one at a time,
// and never block. Handlers (connect, events, disconnect) run in order on one
// goroutine per busy client, started on demand and gone when the queue is
// empty, so an idle connection costs no goroutine. Writes come from any
// goroutine; wmu keeps the messages of one binary packet together.
//
// Lock order: client.mu, then Socket.mu. The adapter's locks are never taken
// while holding either.
type client struct {
	srv  *Server
	conn EngineConn
	req  *http.Request
	dec  packet.Decoder // used only by receive

	wmu sync.Mutex

	mu      sync.Mutex
	sockets []*Socket // at most one per namespace; a client joins few
	closed  bool
	timer   *time.Timer
	queue   []func()
	running bool
}

// requester is implemented by *engineio.Socket: it rebuilds the handshake
// request the session keeps.
type requester interface {
	Request() *http.Request
}

// request returns the request that opened the connection: the one given to
// Open, else a copy from the Engine.IO session, else nil. owned reports
// that the request is a fresh copy, which the caller may keep or modify.
func (c *client) request() (r *http.Request, owned bool) {
	if c.req != nil {
		return c.req, false
	}
	if rq, ok := c.conn.(requester); ok {
		return rq.Request(), true
	}
	return nil, false
}

func newClient(s *Server, ec EngineConn, r *http.Request) *client {
	c := &client{srv: s, conn: ec, req: r}
	c.dec.MaxAttachments = s.cfg.MaxAttachments
	return c
}

func (c *client) startConnectTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.timer = time.AfterFunc(c.srv.cfg.ConnectTimeout, func() {
		c.mu.Lock()
		idle := len(c.sockets) == 0 && !c.closed
		c.mu.Unlock()
		if idle {
			c.srv.log.Debug("socketio: no namespace joined in time", "sid", c.conn.ID())
			c.conn.Close()
		}
	})
}

func (c *client) stopConnectTimer() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
}

// receive decodes one Engine.IO message and routes the packet.
func (c *client) receive(data []byte, binary bool) {
	p, err := c.dec.Decode(data, binary)
	if err != nil {
		c.srv.log.Debug("socketio: closing connection on bad packet", "sid", c.conn.ID(), "err", err)
		c.abort(ReasonParseError)
		return
	}
	if p == nil {
		return
	}
	switch p.Type {
	case packet.Connect:
		c.enqueue(func() { c.connect(p) })
	case packet.Ack, packet.BinaryAck:
		// Acks are answered here, not queued behind handlers: a handler may be
		// waiting for exactly this ack.
		if s := c.socket(p.NS()); s != nil {
			s.onAck(p)
		}
	case packet.Event, packet.BinaryEvent, packet.Disconnect:
		c.enqueue(func() {
			s := c.socket(p.NS())
			if s == nil {
				// A packet for a namespace the client has not joined: the
				// reference server closes the connection ("invalid state").
				c.abort(ReasonParseError)
				return
			}
			if p.Type == packet.Disconnect {
				s.close(ReasonClientNamespaceDisconnect, false)
				return
			}
			s.onEvent(p)
		})
	default: // CONNECT_ERROR is server-to-client only
		c.abort(ReasonParseError)
	}
}

func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// enqueue runs f after the previously queued work of this client, on the
// client's handler goroutine.
func (c *client) enqueue(f func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.srv.cfg.MaxPendingPackets {
		c.mu.Unlock()
		c.srv.log.Warn("socketio: client floods its handlers", "sid", c.conn.ID())
		c.abort(ReasonSlowHandlers)
		return
	}
	c.queue = append(c.queue, f)
	c.startLocked()
	c.mu.Unlock()
}

// startLocked starts the handler goroutine if it is not running.
func (c *client) startLocked() {
	if c.running || len(c.queue) == 0 {
		return
	}
	c.running = true
	c.srv.handlers.Add(1)
	go c.run()
}

func (c *client) run() {
	defer c.srv.handlers.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			c.queue = nil
			c.mu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		c.runTask(f)
	}
}

// runTask runs one queued task. A panicking handler is contained like a
// net/http handler's: logged with its stack, and its connection closed
// (ReasonServerError); other connections are unaffected.
func (c *client) runTask(f func()) {
	defer func() {
		if v := recover(); v != nil {
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.srv.log.Error("socketio: handler panic", "sid", c.conn.ID(), "panic", v, "stack", string(buf))
			c.abort(ReasonServerError)
		}
	}()
	f()
}

// connect handles a CONNECT packet (Client.connect and Namespace._add in the
// reference server).
func (c *client) connect(p *packet.Packet) {
	name := p.NS()
	auth := json.RawMessage(p.Data)
	if auth == nil {
		auth = json.RawMessage("{}")
	}
	nsp := c.srv.lookup(context.Background(), name, auth)
	if nsp == nil {
		c.writePacket(&packet.Packet{Type: packet.ConnectError, Namespace: name,
			Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, false)
		return
	}
	c.stopConnectTimer()
	if old := c.socket(name); old != nil {
		old.close(ReasonClientNamespaceDisconnect, false)
	}
	nsp.add(c, auth)
}

// attach records s as the client's socket for its namespace; it fails when the
// connection is already gone.
func (c *client) attach(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	for i, old := range c.sockets {
		if old.nsp == s.nsp {
			c.sockets[i] = s
			return true
		}
	}
	c.sockets = append(c.sockets, s)
	return true
}

func (c *client) detach(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// writePacket encodes and sends one packet.
func (c *client) writePacket(p *packet.Packet, volatile bool) error {
	text, bins := packet.Encode(p)
	return c.write(&outPacket{text: text, bins: bins}, volatile)
}

// writable reports whether the transport can take a packet now; a
// connection that cannot tell always can.
func (c *client) writable() bool {
	w, ok := c.conn.(interface{ Writable() bool })
	return !ok || w.Writable()
}

// write sends an encoded packet: its text message, then its attachments.
// Volatile packets are dropped when the transport cannot take them now.
func (c *client) write(o *outPacket, volatile bool) error {
	if volatile && !c.writable() {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if ms, ok := c.conn.(messageSender); ok {
		for _, m := range o.engineMessages() {
			if err := ms.SendMessage(m); err != nil {
				return err
			}
		}
		return nil
	}
	if err := c.conn.Send(o.text, false); err != nil {
		return err
	}
	for _, b := range o.bins {
		if err := c.conn.Send(b, true); err != nil {
			return err
		}
	}
	return nil
}

// abort closes the Engine.IO connection after disconnecting every socket
// with reason.
func (c *client) abort(reason DisconnectReason) {
	c.closeSockets(reason)
	c.conn.Close()
}

// engineClosed handles the end of the Engine.IO session.
func (c *client) engineClosed(reason DisconnectReason) {
	c.closeSockets(reason)
}

// closeSockets marks the client closed, fails the sockets' pending acks at
// once, and queues their disconnect handlers behind the work already queued.
func (c *client) closeSockets(reason DisconnectReason) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	socks := slices.Clone(c.sockets)
	for _, s := range socks {
		s.interrupt()
	}
	// The close work bypasses the queue limit: it must always run.
	c.queue = append(c.queue, func() {
		for _, s := range socks {
			s.close(reason, false)
		}
		c.srv.removeClient(c)
	})
	c.startLocked()
	c.mu.Unlock()
}

func (c *client) shutdown() {
	c.closeSockets(ReasonServerShuttingDown)
	c.conn.Close()
}

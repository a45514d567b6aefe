package websocket

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/switchboard/switchboard/internal/bufpool"
	"github.com/switchboard/switchboard/websocket/frame"
)

// pool holds every buffer a connection borrows: partial messages, pending
// output, compression scratch space.
var pool bufpool.Pool

// driver is what owns a connection's I/O: an event loop, a pair of
// goroutines (TLS, non-Linux), or the caller (client connections).
type driver interface {
	// schedule asks the driver to flush c's pending output soon. Called
	// with c.mu held, once per dirty period.
	schedule(c *Conn)
	// urgent asks the driver to flush c ahead of connections scheduled with
	// schedule; false if the driver has no such order (schedule is then
	// used). Called with c.mu held, once per urgent period.
	urgent(c *Conn) bool
	// abort closes the connection at once; the reader then tears it down.
	abort(c *Conn)
}

// Connection state bits, guarded by Conn.mu.
const (
	stOpen       uint16 = 1 << iota // WebSocket framing is on (after the 101)
	stCloseSent                     // our Close frame is queued
	stCloseRecv                     // the peer's Close frame arrived
	stDirty                         // scheduled with the driver for a flush
	stShutWrite                     // write side half-closed after the final flush
	stClosed                        // torn down; OnClose called or about to be
	stAborted                       // slow consumer or fatal write error
	stWriteClose                    // half-close the write side once output drains
	stUrgent                        // also queued for an early flush (see Conn.WritePrepared)
	stSending                       // c.out[c.outOff:] is being sent by the loop, unlocked (flushBatch)
)

// Conn is a WebSocket connection. Its write methods are safe for concurrent
// use by any number of goroutines, and never block on the network: frames
// are queued (bounded by Config.WriteBufferLimit) and written by the
// connection's owner, in batches. Incoming messages arrive at the Handler.
type Conn struct {
	h      Handler
	cfg    *Config
	drv    driver
	fd     int      // loop-owned connections; -1 otherwise
	nc     net.Conn // goroutine-driven and client connections
	client bool     // this side is the client: masks frames (RFC 6455 §5.3)
	rng    *rand.ChaCha8

	deflate     bool // permessage-deflate negotiated
	huffOnly    bool // peer limited our window below 2^15: no back-references
	subprotocol string
	remote      netip.AddrPort
	adm         *admission // Config.Admit's release; nil if none
	ctr         *counters  // the Server's counter shard; nil for clients

	rd reader // only the reading goroutine

	// Owned by the event loop (loop-driven connections only).
	loop    *loop
	phase   uint8    // phaseHTTP, phaseHandshake, phaseWS
	wantOut bool     // EPOLLOUT armed after a short write
	gone    bool     // torn down or handed off (the loop's own view; c.st is for everyone else)
	inBatch bool     // in the io_uring chunk being sent (loop goroutine only)
	retired []byte   // output buffer replaced while it was being sent (stSending)
	hs      *hsState // request bytes while in phaseHTTP/phaseHandshake

	// Keepalive (Config.PingInterval), owned by the reading goroutine.
	lastRead int64 // unix nanoseconds of the last read, per loop batch
	pingAt   int64 // when the outstanding keepalive Ping was sent, 0 if none

	mu       sync.Mutex
	st       uint16
	out      []byte // pending output (pooled); out[outOff:] is unsent
	outOff   int
	closeErr error // why the connection is closing
	value    any
	timer    *time.Timer // handshake or close timeout
}

func (c *Conn) maxMessage() int64 { return c.cfg.MaxMessageSize }

// Subprotocol returns the negotiated subprotocol, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// Compressed reports whether permessage-deflate was negotiated.
func (c *Conn) Compressed() bool { return c.deflate }

// SetValue attaches an application value to the connection.
func (c *Conn) SetValue(v any) {
	c.mu.Lock()
	c.value = v
	c.mu.Unlock()
}

// Value returns the value set by SetValue.
func (c *Conn) Value() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// state reads the state bits under the lock.
func (c *Conn) state() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// Buffered returns the number of bytes queued and not yet written.
func (c *Conn) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out) - c.outOff
}

// WriteMessage queues a data message. It returns ErrClosed once the
// connection is closing, and ErrSlowConsumer when the message made the
// pending output exceed the limit (the connection is then dropped).
func (c *Conn) WriteMessage(typ MessageType, data []byte) error {
	if typ != TextMessage && typ != BinaryMessage {
		return errors.New("websocket: WriteMessage: invalid message type")
	}
	var z []byte
	if c.deflate && len(data) >= c.cfg.CompressionThreshold {
		// Compress outside the lock; skip it when it does not pay.
		level := c.cfg.CompressionLevel
		if c.huffOnly {
			level = flate.HuffmanOnly
		}
		z = compress(data, level)
		if len(z) >= len(data) {
			pool.Put(z)
			z = nil
		}
	}
	c.mu.Lock()
	if c.st&(stCloseSent|stClosed|stAborted) != 0 {
		c.mu.Unlock()
		pool.Put(z)
		return ErrClosed
	}
	prev := len(c.out) - c.outOff
	if z != nil {
		c.appendFrameLocked(frame.Opcode(typ), true, z)
		pool.Put(z)
	} else {
		c.appendFrameLocked(frame.Opcode(typ), false, data)
	}
	c.ctr.out(len(data))
	return c.queuedLocked(prev, true)
}

// WritePrepared queues a message encoded once by NewPreparedMessage; it is
// the cheap way to send one message to many connections.
//
// Its flush comes after those of connections written with WriteMessage
// (and control frames): an event loop sends a reply before it works
// through a broadcast's fan-out, so the sender of a broadcast hears back at
// once and its next messages join the fan-out still queued (several
// messages per write to each receiver, instead of one write each).
func (c *Conn) WritePrepared(pm *PreparedMessage) error {
	c.mu.Lock()
	if c.st&(stCloseSent|stClosed|stAborted) != 0 {
		c.mu.Unlock()
		return ErrClosed
	}
	prev := len(c.out) - c.outOff
	if c.client {
		c.appendFrameLocked(pm.op, false, pm.data)
	} else {
		f := pm.frame(c)
		c.out = append(c.growOutLocked(len(f)), f...)
	}
	c.ctr.out(len(pm.data))
	return c.queuedLocked(prev, false)
}

// Ping queues a Ping frame with payload (at most 125 bytes).
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return errors.New("websocket: ping payload longer than 125 bytes")
	}
	if !c.writeControl(frame.OpPing, payload) {
		return ErrClosed
	}
	return nil
}

// Close starts the closing handshake (RFC 6455 §7.1.2): it queues a Close
// frame with code and reason; the connection is torn down when the peer
// answers or after Config.CloseTimeout. OnClose receives a *CloseError with
// Local set.
func (c *Conn) Close(code StatusCode, reason string) error {
	if !frame.ValidCloseCode(uint16(code)) {
		return errors.New("websocket: Close: status code not allowed on the wire")
	}
	c.mu.Lock()
	if c.st&(stCloseSent|stClosed|stAborted) != 0 {
		c.mu.Unlock()
		return ErrClosed
	}
	c.sendCloseLocked(code, reason, true)
	c.mu.Unlock()
	return nil
}

// growOutLocked makes room for n more output bytes. While the loop sends
// from c.out without the lock (stSending), the buffer being sent is never
// reused: appends go past it, and a move to a larger buffer keeps it in
// c.retired until the send completes.
func (c *Conn) growOutLocked(n int) []byte {
	if c.outOff > 0 && c.outOff == len(c.out) && c.st&stSending == 0 {
		c.out = c.out[:0]
		c.outOff = 0
	}
	if c.out == nil {
		c.out = pool.Get(n)
	}
	if c.st&stSending == 0 || cap(c.out)-len(c.out) >= n {
		return pool.Grow(c.out, n)
	}
	nb := append(pool.Get(len(c.out)+n), c.out...)
	if c.retired == nil {
		c.retired = c.out // the buffer in flight
	} else {
		pool.Put(c.out) // an earlier move's buffer: not in flight
	}
	return nb
}

// appendFrameLocked encodes one whole frame into the output buffer.
func (c *Conn) appendFrameLocked(op frame.Opcode, rsv1 bool, p []byte) {
	c.out = c.growOutLocked(frame.MaxHeaderSize + len(p))
	if c.client {
		c.out = frame.AppendMaskedFrame(c.out, op, true, rsv1, c.newMaskKey(), p)
	} else {
		c.out = frame.AppendFrame(c.out, op, true, rsv1, p)
	}
}

// queuedLocked finishes a write that found prev bytes already pending: it
// enforces the output limit and asks the driver for a flush. A message
// queued on an empty backlog is always accepted, so any message up to
// MaxMessageSize can be sent; a backlog that grows past WriteBufferLimit
// means the peer is not reading. urgent asks for an early flush. It unlocks
// c.mu.
func (c *Conn) queuedLocked(prev int, urgent bool) error {
	if prev > 0 && len(c.out)-c.outOff > c.cfg.WriteBufferLimit {
		c.abortLocked(ErrSlowConsumer)
		c.mu.Unlock()
		c.ctr.slowConsumer()
		return ErrSlowConsumer
	}
	if urgent {
		c.scheduleUrgentLocked()
	} else {
		c.scheduleLocked()
	}
	c.mu.Unlock()
	return nil
}

func (c *Conn) scheduleLocked() {
	if c.st&stDirty == 0 && c.st&stClosed == 0 {
		c.st |= stDirty
		c.drv.schedule(c)
	}
}

// scheduleUrgentLocked is scheduleLocked for output that should not wait
// behind a fan-out: replies, pings and pongs.
func (c *Conn) scheduleUrgentLocked() {
	if c.st&(stUrgent|stClosed) != 0 {
		return
	}
	if c.drv.urgent(c) {
		c.st |= stUrgent | stDirty
		return
	}
	c.scheduleLocked()
}

// writeControl queues a control frame; false if the connection is closing.
func (c *Conn) writeControl(op frame.Opcode, p []byte) bool {
	c.mu.Lock()
	if c.st&(stCloseSent|stClosed|stAborted) != 0 {
		c.mu.Unlock()
		return false
	}
	c.appendFrameLocked(op, false, p)
	c.scheduleUrgentLocked()
	c.mu.Unlock()
	return true
}

// sendCloseLocked queues our Close frame. The write side is half-closed once
// it is flushed; the reader then waits for the peer's Close or EOF, bounded
// by CloseTimeout.
func (c *Conn) sendCloseLocked(code StatusCode, reason string, local bool) {
	c.st |= stCloseSent | stWriteClose
	if c.closeErr == nil {
		c.closeErr = &CloseError{Code: code, Reason: reason, Local: local}
	}
	var pl [frame.MaxControlPayload]byte
	c.appendFrameLocked(frame.OpClose, false, frame.AppendClosePayload(pl[:0], uint16(code), reason))
	c.scheduleLocked()
	c.startCloseTimerLocked()
}

func (c *Conn) startCloseTimerLocked() {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(c.cfg.CloseTimeout, func() {
		c.mu.Lock()
		c.abortLocked(nil)
		c.mu.Unlock()
	})
}

// peerClosed handles the peer's Close frame (RFC 6455 §5.5.1): echo the
// code unless we already sent ours, then let the write side close.
func (c *Conn) peerClosed(code StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st |= stCloseRecv
	if c.st&stCloseSent != 0 {
		// We started the handshake; it is complete.
		c.st |= stWriteClose
		c.scheduleLocked()
		return
	}
	c.closeErr = &CloseError{Code: code, Reason: reason}
	echo := code
	if echo == StatusNoStatusRcvd {
		echo = 0
	}
	c.st |= stCloseSent | stWriteClose
	var pl [frame.MaxControlPayload]byte
	var payload []byte
	if echo != 0 {
		payload = frame.AppendClosePayload(pl[:0], uint16(echo), "")
	}
	c.appendFrameLocked(frame.OpClose, false, payload)
	c.scheduleLocked()
	c.startCloseTimerLocked()
}

// fail answers a protocol violation: Close with its code, drop further input.
func (c *Conn) fail(err error) {
	c.rd.discard = true
	var pe *protoError
	if !errors.As(err, &pe) {
		c.mu.Lock()
		c.abortLocked(err)
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	if c.st&stCloseSent == 0 && c.st&stAborted == 0 {
		c.sendCloseLocked(pe.code, pe.reason, true)
	}
	c.mu.Unlock()
}

// abortLocked drops the connection without a handshake (slow consumer, a
// timeout, a write error). err, when not nil, becomes the close reason.
func (c *Conn) abortLocked(err error) {
	if c.st&(stAborted|stClosed) != 0 {
		return
	}
	c.st |= stAborted
	if err != nil && (c.closeErr == nil || err == ErrSlowConsumer) {
		c.closeErr = err
	}
	c.drv.abort(c)
}

// afterFlushLocked is called by a driver when all output is written; it
// reports whether the write side should now be half-closed.
func (c *Conn) afterFlushLocked() bool {
	if c.out != nil {
		pool.Put(c.out)
		c.out = nil
		c.outOff = 0
	}
	if c.st&stWriteClose != 0 && c.st&stShutWrite == 0 {
		c.st |= stShutWrite
		return true
	}
	return false
}

// closeReason is what OnClose receives when the reader stops with readErr.
func (c *Conn) closeReasonLocked(readErr error) error {
	if c.closeErr != nil {
		return c.closeErr
	}
	if readErr == nil || errors.Is(readErr, io.EOF) {
		return &CloseError{Code: StatusAbnormalClosure, Reason: "connection closed without a close frame"}
	}
	return readErr
}

// finish marks c closed, frees its buffers and calls OnClose. Only the
// reader calls it, once.
func (c *Conn) finish(readErr error) {
	c.adm.release()
	c.mu.Lock()
	if c.st&stClosed != 0 {
		c.mu.Unlock()
		return
	}
	c.st |= stClosed
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	err := c.closeReasonLocked(readErr)
	if c.out != nil {
		pool.Put(c.out)
		c.out = nil
		c.outOff = 0
	}
	open := c.st&stOpen != 0
	c.mu.Unlock()
	c.rd.release()
	if open {
		c.h.OnClose(c, err)
	}
}

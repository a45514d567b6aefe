package turn

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// Stream transports (TCP and TLS, RFC 8489 §6.2.2, RFC 8656 §3.1): one
// reader goroutine per connection, and a writer goroutine only while output
// is pending. Output is bounded; past the bound relayed packets are dropped
// as they would be on UDP.
//
// Lifetime: the reader's read deadline doubles as the idle timer, so an
// idle connection costs no goroutine or timer beyond its reader. The
// deadline is armed at accept and re-armed only when it fires (never per
// read), and when it fires the reader decides (keepReading): a connection
// that completed a message since the last arming lives on; one whose
// partial message has not completed for a whole period after one ended
// is a slowloris and is closed; an idle one is kept only while it has an
// allocation. A connection whose
// allocation is deleted or expires is closed too (allocationGone), after
// its queued output, such as the response to the Refresh that deleted it.

const (
	streamReadInit   = 4096
	streamMaxFrame   = stun.HeaderSize + 65535 // the largest STUN or ChannelData message
	streamOutLimit   = 1 << 20
	streamWriteLimit = 10 * time.Second
)

type streamConn struct {
	s     *Server
	c     net.Conn
	ft    fiveTuple
	rawFd int // the TCP socket for direct non-blocking writes; -1 over TLS

	mu       sync.Mutex
	out      []byte
	spare    []byte
	flushing bool // a writer goroutine owns out and the socket
	queued   bool // on a relay loop's list, to be written at its round's end
	closed   bool
	// closeWhenFlushed: the reader has finished while a writer goroutine
	// was flushing; the writer closes the connection when done.
	closeWhenFlushed bool

	// ending is set when the connection's allocation is gone: the reader
	// stops at its next wake-up (allocationGone also wakes it).
	ending atomic.Bool

	// bound is set, by the reader's own ConnectionBind handler, when the
	// connection becomes a client data connection (RFC 6062 §5.4): the
	// reader stops and runDataConn takes over; early is what followed the
	// request in the read buffer. flushed, when set, is closed by the
	// flusher as it exits (runDataConn waits for the response to leave).
	bound   *tcpConn
	early   []byte
	flushed chan struct{}

	req, resp stun.Message
	dst       relayDest
	writeFn   func()
	feedFn    func(*frameBuf) bool
}

func (c *streamConn) stream() bool { return true }

// send writes b to the client now if nothing is pending (plain TCP: one
// non-blocking write(2) from the calling goroutine), and otherwise queues
// it; it never blocks. Past streamOutLimit queued bytes, b is dropped.
func (c *streamConn) send(b []byte) {
	c.mu.Lock()
	if !c.enqueueLocked(b) {
		c.mu.Unlock()
		return
	}
	start := c.writeLocked()
	c.mu.Unlock()
	if start {
		c.startFlusher()
	}
}

// queue appends b for the relay loop to write at the end of its round,
// so that every packet a round relays to this client leaves in one
// write. It reports whether the caller must call writeQueued later.
func (c *streamConn) queue(b []byte) (first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enqueueLocked(b) || c.queued {
		return false
	}
	c.queued = true
	return true
}

// writeQueued writes what queue collected.
func (c *streamConn) writeQueued() {
	c.mu.Lock()
	c.queued = false
	start := c.writeLocked()
	c.mu.Unlock()
	if start {
		c.startFlusher()
	}
}

func (c *streamConn) enqueueLocked(b []byte) bool {
	if c.closed || len(c.out)+len(b) > streamOutLimit {
		c.s.stats.dropped.Add(1)
		return false
	}
	c.out = append(c.out, b...)
	return true
}

// writeLocked tries to write out directly and reports whether a flusher
// goroutine must take over the rest (TLS, or a full socket buffer).
func (c *streamConn) writeLocked() (startFlusher bool) {
	if c.flushing || c.closed || len(c.out) == 0 {
		// Closed: the descriptor may already belong to another socket.
		return false
	}
	if c.rawFd >= 0 {
		n, err := writeNonblock(c.rawFd, c.out)
		if n == len(c.out) {
			c.out = c.out[:0]
			return false
		}
		if err != nil && !isAgain(err) {
			c.abortLocked()
			return false
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	c.flushing = true
	return true
}

func (c *streamConn) startFlusher() {
	if !c.s.goTrack(c.writeFn) {
		c.abort()
	}
}

// flush writes queued output until none is left, then exits, closing the
// connection if its reader has finished meanwhile.
func (c *streamConn) flush() {
	for {
		c.mu.Lock()
		if len(c.out) == 0 || c.closed {
			c.flushing = false
			last := c.closeWhenFlushed
			if c.flushed != nil {
				close(c.flushed)
				c.flushed = nil
			}
			c.mu.Unlock()
			if last {
				c.end()
			}
			return
		}
		buf := c.out
		c.out = c.spare[:0]
		c.mu.Unlock()
		c.c.SetWriteDeadline(time.Now().Add(streamWriteLimit))
		err := c.write(buf)
		c.mu.Lock()
		if cap(buf) <= 64<<10 {
			c.spare = buf[:0]
		} else {
			c.spare = nil // let a burst's buffer go
		}
		c.mu.Unlock()
		if err != nil {
			c.close() // and loop once more to hand over to end if needed
		}
	}
}

// write sends buf, which holds whole messages. Over TCP it is one write.
// Over TLS each message gets its own record: coturn's clients (and some
// others) read one message per TLS record and drop the rest, and coturn
// itself writes one record per message.
func (c *streamConn) write(buf []byte) error {
	if c.ft.proto != transportTLS {
		_, err := c.c.Write(buf)
		return err
	}
	for len(buf) > 0 {
		n, err := stun.FrameLength(buf)
		if err != nil || n == 0 || n > len(buf) {
			n = len(buf) // cannot happen: only whole messages are queued
		}
		if _, err := c.c.Write(buf[:n]); err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}

// close closes the socket; output still queued is dropped. It is
// idempotent. It waits for a plain TCP reader to leave its RawConn.Read
// callback, so it must not be called from a handler (use abort) nor with
// a lock a handler may take.
func (c *streamConn) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.c.Close()
}

// abort stops the connection from any goroutine, a handler on its own
// reader included, where close would deadlock: the plain TCP reader runs
// handlers inside its RawConn.Read callback (stream_linux.go), and Close
// waits for that callback to return. So a plain TCP socket is shut down,
// which wakes the reader to the end of the stream, and the reader closes
// it (finish). A TLS connection, read outside any callback, is closed.
func (c *streamConn) abort() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	raw := c.rawFd >= 0
	c.abortLocked()
	c.mu.Unlock()
	if !raw {
		c.c.Close()
	}
}

// abortLocked marks the connection closed and shuts a plain TCP socket
// down (see abort). Call with c.mu held and c.closed false.
func (c *streamConn) abortLocked() {
	c.closed = true
	if c.rawFd >= 0 {
		shutdownFd(c.rawFd)
	}
}

// end closes the connection and forgets it.
func (c *streamConn) end() {
	c.close()
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
}

// finish is the reader's last act: it closes the connection now, or hands
// that to the running writer goroutine so that queued output still leaves.
func (c *streamConn) finish() {
	c.mu.Lock()
	if c.flushing && !c.closed {
		c.closeWhenFlushed = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.end()
}

// allocationGone ends the connection whose allocation was deleted or
// expired (RFC 8656 §3.2: an allocation belongs to its 5-tuple, and over
// TCP or TLS the connection is that 5-tuple). It may be called from any
// goroutine, the reader's own included (a Refresh with LIFETIME 0); the
// reader stops reading at its next wake-up, which the past deadline
// forces, and finish lets queued output leave first.
func (c *streamConn) allocationGone() {
	c.ending.Store(true)
	c.c.SetReadDeadline(aLongTimeAgo)
}

// aLongTimeAgo is a read deadline that wakes a blocked reader at once.
var aLongTimeAgo = time.Unix(1, 0)

// ServeTCP accepts connections from ln and serves STUN and TURN on them
// until Shutdown. Pass a tls.NewListener to serve TURN over TLS (TURNS).
// It returns ErrServerClosed after Shutdown.
func (s *Server) ServeTCP(ln net.Listener) error {
	if err := s.start(); err != nil {
		ln.Close()
		return err
	}
	if !s.trackListener(ln, true) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.trackListener(ln, false)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return ErrServerClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.serveConn(nc)
	}
}

func (s *Server) serveConn(nc net.Conn) {
	proto := transportTCP
	if _, ok := nc.(*tls.Conn); ok {
		proto = transportTLS
	}
	c := &streamConn{s: s, c: nc, rawFd: -1, ft: fiveTuple{
		client: addrPort(nc.RemoteAddr()),
		server: addrPort(nc.LocalAddr()),
		proto:  proto,
	}}
	if proto == transportTCP {
		c.rawFd = rawFd(nc)
	}
	c.writeFn = c.flush
	c.feedFn = c.feed
	// The first idle period; the reader re-arms it (see readLoop).
	nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.readLoop()
		if c.bound != nil {
			s.runDataConn(c.bound, c, c.early)
			return
		}
		// Closing the connection ends its allocation (RFC 8656 §3.1).
		if a := s.table.get(c.ft); a != nil {
			s.release(a)
		}
		c.finish()
	}()
}

func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// frameBuf is a connection's read buffer and framing state; only its
// reader goroutine touches it.
type frameBuf struct {
	buf  []byte
	have int
	msgs uint64 // complete messages so far
	bad  bool   // not STUN or ChannelData: the stream cannot be resynchronised
}

// space returns the free part of the buffer to read into.
func (f *frameBuf) space() []byte { return f.buf[f.have:] }

// feed handles every complete message in f (RFC 8656 §12.5: ChannelData
// padded to 4 bytes over streams) and keeps the partial rest. It reports
// whether reading should go on: not after garbage, nor once the
// connection is ending.
func (c *streamConn) feed(f *frameBuf) bool {
	off := 0
	for {
		size, err := stun.FrameLength(f.buf[off:f.have])
		if err != nil || size > streamMaxFrame+4 {
			f.bad = true
			return false
		}
		if size == 0 || off+size > f.have {
			if size > len(f.buf) {
				nb := make([]byte, size)
				copy(nb, f.buf[off:f.have])
				f.buf, f.have, off = nb, f.have-off, 0
			}
			break
		}
		c.message(f.buf[off : off+size])
		f.msgs++
		off += size
		if c.bound != nil {
			// A client data connection now (RFC 6062 §5.4): the rest
			// is bytes for the peer.
			c.early = append([]byte(nil), f.buf[off:f.have]...)
			f.have = 0
			return false
		}
	}
	if off > 0 {
		f.have = copy(f.buf, f.buf[off:f.have])
	}
	return !c.ending.Load()
}

// readLoop frames STUN and ChannelData messages out of the byte stream and
// handles each, until the stream ends, turns out not to be STUN, idles out
// (see the top of this file) or loses its allocation. Plain TCP is read by
// rawReader.run, which handles messages inside its RawConn.Read callback;
// TLS through crypto/tls.
func (c *streamConn) readLoop() {
	f := &frameBuf{buf: make([]byte, streamReadInit)}
	// armed is f.msgs when the read deadline was last armed; stalled is
	// whether a partial message was pending with no progress when it last
	// fired.
	var armed uint64
	stalled := false
	var rr *rawReader
	if c.ft.proto == transportTCP {
		rr = newRawReader(c.c)
	}
	for {
		var err error
		if rr != nil {
			err = rr.run(f, c.feedFn)
		} else {
			var n int
			n, err = c.c.Read(f.space())
			f.have += n
			if !c.feed(f) {
				return
			}
		}
		if f.bad || c.ending.Load() || c.bound != nil {
			return
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			progress, partial := f.msgs != armed, f.have > 0
			if !c.keepReading(progress, partial && stalled) {
				return
			}
			stalled = partial && !progress
			armed = f.msgs
			c.c.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
			// allocationGone may have set its past deadline just before
			// this one replaced it; ending is set before that deadline.
			if c.ending.Load() {
				return
			}
		}
	}
}

// keepReading decides, when a whole IdleTimeout has passed since the read
// deadline was armed, whether the connection lives on: it does if it
// completed a message meanwhile, or if it has an allocation and no stalled
// message (an idle client with an allocation is legitimate; the
// allocation's lifetime bounds it). A message that was already partial
// when the previous period ended and has not completed in this one is a
// slowloris (one period would also catch a message split by chance just
// as the deadline fired), and an idle connection without an allocation
// only holds a descriptor and a goroutine.
func (c *streamConn) keepReading(progress, stalled bool) bool {
	switch {
	case progress:
		return true
	case stalled:
		return false
	default:
		return c.s.table.get(c.ft) != nil
	}
}

func (c *streamConn) message(b []byte) {
	s := c.s
	if stun.IsChannelData(b) {
		s.channelData(c.ft, b)
		return
	}
	if c.req.Decode(b) != nil {
		return
	}
	r := request{msg: &c.req, resp: &c.resp, ft: c.ft, sink: c, now: s.now(), dst: &c.dst}
	if s.handle(&r) {
		c.send(c.resp.Raw)
	}
}

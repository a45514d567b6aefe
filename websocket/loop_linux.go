//go:build linux

package websocket

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/websocket/internal/uring"
)

// The event loop (Linux, epoll). See docs/design.md, "Who owns a connection".

const (
	phaseHTTP      = iota // reading the HTTP request in the loop
	phaseHandshake        // a handshake worker runs the handler
	phaseWS               // WebSocket framing
)

const (
	readBufSize    = 64 << 10
	maxEvents      = 512
	ringEntries    = 256      // sends per io_uring submission
	minRingBatch   = 4        // fewer dirty connections are flushed with write(2)
	maxPendingHTTP = 64 << 10 // request bytes buffered while the handler runs
)

var errTooManyFiles = syscall.EMFILE

// hsState holds a connection's request bytes until the handshake is done.
type hsState struct {
	buf []byte
	h   http.Handler
	cl  *chanListener
	n   int // length of the request head once parsed
}

type loop struct {
	s     *Server
	epfd  int
	evfd  int
	epf   *os.File        // epfd, registered with the Go runtime's poller
	eprc  syscall.RawConn // parks the loop goroutine until epfd is readable
	buf   []byte
	conns []*Conn // by fd; only the loop goroutine touches it

	qmu      sync.Mutex
	dirty    []*Conn
	tasks    []func()
	sleeping bool
	woken    bool
	stopping bool
	dead     bool // shut down: posted tasks can no longer run
	spareD   []*Conn
	urgentQ  []*Conn // flushed before dirty, and between its chunks
	spareU   []*Conn
	spareT   []func()
	stopped  chan struct{}

	ring      *uring.Ring // batched sends for a flush pass; nil where unavailable
	batch     []*Conn     // the chunk in flight; all locked
	later     []*Conn     // set aside for the plain flush once the chunk is unlocked
	lingering []*Conn     // refused HTTP connections to close after their response
	results   []int32
	want      []int   // bytes each send of the chunk carries
	redirty   []*Conn // written to while their send was in flight
	ringSent  uint64  // sends completed through the ring (tests, diagnostics)
	inUrgent  bool    // flushUrgent is running: no nested call
	inPoll    bool    // pollInput is running: no nested call
	polled    uint64  // events handled by pollInput (tests, diagnostics)
	events2   []syscall.EpollEvent

	now      int64         // time of the current batch, when keepalive is on
	nextScan int64         // next keepalive scan
	minPing  time.Duration // smallest PingInterval of the loop's connections
}

func startLoops(s *Server, n int) []*loop {
	loops := make([]*loop, 0, n)
	for i := 0; i < n; i++ {
		l, err := newLoop(s)
		if err != nil {
			s.cfg.Logger.Warn("websocket: event loop unavailable; connections use goroutines", "err", err)
			for _, l := range loops {
				l.stop()
			}
			return nil
		}
		loops = append(loops, l)
		s.wg.Add(1)
		go l.run()
	}
	return loops
}

func newLoop(s *Server) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	r1, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", e)
	}
	evfd := int(r1)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(evfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(evfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	l := &loop{s: s, epfd: epfd, evfd: evfd, buf: make([]byte, readBufSize), stopped: make(chan struct{})}
	if !s.cfg.disableURing {
		if r, err := uring.New(ringEntries); err == nil {
			l.ring = r
			l.results = make([]int32, ringEntries)
			l.want = make([]int, ringEntries)
		} else {
			s.cfg.Logger.Debug("websocket: io_uring unavailable; flushing with write(2)", "err", err)
		}
	}
	// The epoll descriptor is itself pollable: the loop goroutine parks in
	// the runtime's poller until it is readable, then collects events with a
	// zero timeout. A goroutine blocked in epoll_wait would hold an OS thread
	// in a system call, and sysmon would take its P away and hand it back at
	// every wake-up; that churn costs more than the events themselves.
	l.epf = os.NewFile(uintptr(epfd), "epoll")
	if l.eprc, err = l.epf.SyscallConn(); err != nil {
		l.epf.Close()
		syscall.Close(evfd)
		return nil, err
	}
	return l, nil
}

// wait collects ready events into events: at once when work is pending,
// otherwise after parking until something is ready or, with keepalive on,
// the next scan is due.
func (l *loop) wait(events []syscall.EpollEvent, block bool) int {
	n, err := syscall.EpollWait(l.epfd, events, 0)
	if n > 0 || !block {
		if err != nil && err != syscall.EINTR {
			l.s.cfg.Logger.Error("websocket: epoll_wait", "err", err)
		}
		return max(n, 0)
	}
	if l.minPing > 0 {
		_ = l.epf.SetReadDeadline(time.Now().Add(max(l.minPing/4, time.Millisecond)))
	}
	n = 0
	rerr := l.eprc.Read(func(fd uintptr) bool {
		n, err = syscall.EpollWait(int(fd), events, 0)
		return n > 0 || (err != nil && err != syscall.EINTR)
	})
	if rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) {
		l.s.cfg.Logger.Error("websocket: waiting for events", "err", rerr)
		time.Sleep(time.Millisecond)
	}
	return max(n, 0)
}

// takeFD moves a TCP connection out of the Go runtime poller: it duplicates
// the descriptor, closes the net.Conn and returns the non-blocking copy.
func takeFD(tc *net.TCPConn) (int, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(f uintptr) {
		fd, derr = syscall.Dup(int(f))
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, os.NewSyscallError("dup", derr)
	}
	_ = tc.Close()
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}

// post runs f on the loop goroutine.
// It reports false, dropping f, once the loop has shut down; tasks posted
// while it is stopping still run before it does.
func (l *loop) post(f func()) bool {
	l.qmu.Lock()
	if l.dead {
		l.qmu.Unlock()
		return false
	}
	l.tasks = append(l.tasks, f)
	l.wakeLocked()
	l.qmu.Unlock()
	return true
}

// schedule implements driver: queue c for a flush at the end of the batch.
func (l *loop) schedule(c *Conn) {
	l.qmu.Lock()
	l.dirty = append(l.dirty, c)
	l.wakeLocked()
	l.qmu.Unlock()
}

// urgent implements driver: queue c for a flush ahead of the dirty ones.
func (l *loop) urgent(c *Conn) bool {
	l.qmu.Lock()
	l.urgentQ = append(l.urgentQ, c)
	l.wakeLocked()
	l.qmu.Unlock()
	return true
}

// abort implements driver: the flush pass sees stAborted and tears c down.
// It enqueues c even when c is already dirty: a connection stalled on a peer
// that does not read waits for an EPOLLOUT that may never come.
func (l *loop) abort(c *Conn) {
	c.st |= stDirty
	l.schedule(c)
}

func (l *loop) wakeLocked() {
	if l.sleeping && !l.woken {
		l.woken = true
		var one = [8]byte{1}
		_, _ = syscall.Write(l.evfd, one[:])
	}
}

// adopt registers an upgraded connection (from Upgrade's hijack path).
func (l *loop) adopt(c *Conn, fd int, pre []byte) {
	c.loop = l
	c.drv = l
	c.fd = fd
	c.phase = phaseWS
	l.s.live.Add(1)
	if !l.post(func() {
		if !l.register(c) {
			return
		}
		l.open(c, pre)
	}) {
		l.drop(c)
	}
}

// drop closes a connection that arrived after the loop shut down.
func (l *loop) drop(c *Conn) {
	_ = syscall.Close(c.fd)
	c.finish(ErrServerClosed)
	if c.phase == phaseWS {
		l.s.live.Add(-1)
	}
}

// adoptHTTP registers a freshly accepted connection whose request the loop
// will read.
func (l *loop) adoptHTTP(c *Conn, fd int, h http.Handler, cl *chanListener) {
	c.loop = l
	c.drv = l
	c.fd = fd
	c.phase = phaseHTTP
	c.hs = &hsState{h: h, cl: cl}
	posted := l.post(func() {
		if !l.register(c) {
			return
		}
		c.mu.Lock()
		c.timer = time.AfterFunc(l.s.cfg.HandshakeTimeout, func() {
			l.post(func() {
				if c.phase != phaseWS && !c.gone {
					l.teardown(c, errors.New("websocket: handshake timeout"))
				}
			})
		})
		c.mu.Unlock()
	})
	if !posted {
		l.drop(c)
	}
}

func (l *loop) register(c *Conn) bool {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		// Through teardown, so that c is marked gone: a later write to c
		// must not reach the descriptor number, which the next accepted
		// connection may reuse.
		l.s.cfg.Logger.Warn("websocket: cannot register connection", "err", err)
		l.teardown(c, os.NewSyscallError("epoll_ctl", err))
		return false
	}
	for c.fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*Conn, len(l.conns)+64)...)
	}
	l.conns[c.fd] = c
	return true
}

// open starts WebSocket framing on c: OnOpen, then any bytes already read.
func (l *loop) open(c *Conn, pre []byte) {
	c.phase = phaseWS
	if pi := c.cfg.PingInterval; pi > 0 {
		if l.minPing == 0 || pi < l.minPing {
			l.minPing = pi
		}
		l.now = time.Now().UnixNano()
	}
	c.lastRead = l.now
	c.h.OnOpen(c)
	if len(pre) > 0 {
		l.feed(c, pre)
	}
	// The 101 (and anything OnOpen wrote) goes out in this batch.
	c.mu.Lock()
	c.scheduleLocked()
	c.mu.Unlock()
}

func (l *loop) feed(c *Conn, b []byte) {
	if c.rd.discard {
		return
	}
	if err := c.feed(b); err != nil {
		c.fail(err)
	}
}

func (l *loop) run() {
	defer l.s.wg.Done()
	defer close(l.stopped)
	events := make([]syscall.EpollEvent, maxEvents)
	for {
		l.qmu.Lock()
		if l.stopping {
			l.qmu.Unlock()
			l.shutdown()
			return
		}
		block := len(l.tasks) == 0 && len(l.dirty) == 0 && len(l.urgentQ) == 0
		l.sleeping = block
		l.qmu.Unlock()
		n := l.wait(events, block)
		l.qmu.Lock()
		l.sleeping = false
		l.qmu.Unlock()
		if l.minPing > 0 {
			l.now = time.Now().UnixNano()
			if l.now >= l.nextScan {
				l.keepalive()
				l.nextScan = l.now + int64(max(l.minPing/4, time.Millisecond))
			}
		}
		l.handle(events[:n])
		l.runQueue()
	}
}

// handle dispatches a batch of epoll events.
func (l *loop) handle(events []syscall.EpollEvent) {
	for i := range events {
		fd := int(events[i].Fd)
		if fd == l.evfd {
			var b [8]byte
			_, _ = syscall.Read(l.evfd, b[:])
			l.qmu.Lock()
			l.woken = false
			l.qmu.Unlock()
			continue
		}
		if fd >= len(l.conns) || l.conns[fd] == nil {
			continue
		}
		c := l.conns[fd]
		ev := events[i].Events
		if ev&syscall.EPOLLOUT != 0 {
			l.flush(c)
		}
		if ev&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR|syscall.EPOLLRDHUP) != 0 && !c.gone {
			l.read(c)
		}
	}
}

// pollInput reads what has arrived meanwhile, between the chunks of a long
// flush pass: a message that starts the next broadcast is read while the
// current one is still being sent, so the two leave in the same writes to
// the receivers not reached yet. Not nested.
func (l *loop) pollInput() {
	if l.inPoll {
		return
	}
	if l.events2 == nil {
		l.events2 = make([]syscall.EpollEvent, maxEvents)
	}
	n, _ := syscall.EpollWait(l.epfd, l.events2, 0)
	if n <= 0 {
		return
	}
	l.inPoll = true
	l.polled += uint64(n)
	l.handle(l.events2[:n])
	l.inPoll = false
}

// runQueue runs posted tasks, then flushes every urgent connection once,
// then every dirty one.
func (l *loop) runQueue() {
	for round := 0; round < 4; round++ {
		l.qmu.Lock()
		if len(l.tasks) == 0 && len(l.dirty) == 0 && len(l.urgentQ) == 0 {
			l.qmu.Unlock()
			return
		}
		// Swap in the spare slices; the spares must never alias the live ones.
		tasks, dirty := l.tasks, l.dirty
		l.tasks, l.dirty = l.spareT[:0], l.spareD[:0]
		l.spareT, l.spareD = nil, nil
		l.qmu.Unlock()
		for i, f := range tasks {
			f()
			tasks[i] = nil
		}
		l.flushUrgent()
		l.flushList(dirty, true)
		clear(dirty)
		l.qmu.Lock()
		l.spareT, l.spareD = tasks[:0], dirty[:0]
		l.qmu.Unlock()
	}
}

// flushList flushes cs, through the ring when there are enough of them;
// interleave as for flushBatch.
func (l *loop) flushList(cs []*Conn, interleave bool) {
	if l.ring != nil && len(cs) >= minRingBatch {
		l.flushBatch(cs, interleave)
		return
	}
	for _, c := range cs {
		l.flush(c)
	}
}

// flushUrgent flushes the connections queued by urgent. It runs before the
// dirty connections and again between the chunks of a long flush pass, so
// a reply never waits behind a whole fan-out. A connection it flushes may
// be dirty again, and listed twice, before the pass reaches its first
// entry: flushBatch skips the second while the first is in flight.
func (l *loop) flushUrgent() {
	if l.inUrgent {
		return
	}
	l.qmu.Lock()
	if len(l.urgentQ) == 0 {
		l.qmu.Unlock()
		return
	}
	cs := l.urgentQ
	l.urgentQ, l.spareU = l.spareU[:0], nil
	l.qmu.Unlock()
	l.inUrgent = true
	l.flushList(cs, false)
	l.inUrgent = false
	clear(cs)
	l.qmu.Lock()
	l.spareU = cs[:0]
	l.qmu.Unlock()
}

func (l *loop) read(c *Conn) {
	n, err := syscall.Read(c.fd, l.buf)
	if n > 0 {
		c.lastRead, c.pingAt = l.now, 0
		switch c.phase {
		case phaseWS:
			l.feed(c, l.buf[:n])
		case phaseHTTP:
			l.readRequest(c, l.buf[:n])
		case phaseHandshake:
			if c.hs == nil {
				return // answering with an error; input is dropped
			}
			if len(c.hs.buf)+n > maxPendingHTTP {
				l.teardown(c, errRequestTooLarge)
				return
			}
			c.hs.buf = append(c.hs.buf, l.buf[:n]...)
		}
		return
	}
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if err == nil {
		err = io.EOF
	}
	l.teardown(c, err)
}

// readRequest accumulates and parses the HTTP request head in the loop.
func (l *loop) readRequest(c *Conn, b []byte) {
	hs := c.hs
	if hs.buf == nil {
		hs.buf = pool.Get(len(b))
	}
	hs.buf = pool.Grow(hs.buf, len(b))
	hs.buf = append(hs.buf, b...)
	r, n, err := parseRequest(hs.buf)
	if err != nil {
		status := http.StatusBadRequest
		if err == errRequestTooLarge {
			status = http.StatusRequestHeaderFieldsTooLarge
		}
		l.respondAndClose(c, appendHTTPError(nil, status, err.Error(), nil))
		return
	}
	if r == nil {
		return // head incomplete
	}
	hs.n = n
	if !IsUpgradeRequest(r) {
		l.handoff(c)
		return
	}
	r.RemoteAddr = c.remote.String()
	c.phase = phaseHandshake
	select {
	case l.s.hsJobs <- hsJob{c: c, r: r, h: hs.h}:
	default:
		l.respondAndClose(c, appendHTTPError(nil, http.StatusServiceUnavailable, "too many handshakes in progress", nil))
	}
}

// handshakeDone applies a handler's outcome on the loop.
func (l *loop) handshakeDone(c *Conn, lw *loopRW) {
	if c.gone {
		return
	}
	hs := c.hs
	c.hs = nil
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
	rest := append([]byte(nil), hs.buf[hs.n:]...)
	pool.Put(hs.buf)
	if lw.upgraded == nil {
		l.respondAndClose(c, lw.response())
		return
	}
	l.s.live.Add(1)
	l.open(c, rest)
}

// respondAndClose writes an HTTP response and closes the connection after it.
func (l *loop) respondAndClose(c *Conn, resp []byte) {
	c.phase = phaseHandshake // ignore further input
	if c.hs != nil {
		c.hs.buf = c.hs.buf[:0]
	}
	c.mu.Lock()
	c.out = append(c.growOutLocked(len(resp)), resp...)
	c.st |= stWriteClose
	c.scheduleLocked()
	c.mu.Unlock()
}

// handoff gives a non-WebSocket request's connection to net/http, replaying
// the bytes read so far.
func (l *loop) handoff(c *Conn) {
	hs := c.hs
	c.hs = nil
	pre := append([]byte(nil), hs.buf...)
	pool.Put(hs.buf)
	l.unregister(c)
	c.gone = true
	c.mu.Lock()
	c.st |= stClosed
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
	adm := c.adm // net/http's to release from here on
	c.adm = nil
	f := os.NewFile(uintptr(c.fd), "")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		adm.release()
		return
	}
	l.s.handOver(hs.cl, &prefixConn{Conn: nc, pre: pre}, adm)
}

func (l *loop) unregister(c *Conn) {
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	if c.fd < len(l.conns) && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
	}
}

// flush writes c's pending output without blocking.
func (l *loop) flush(c *Conn) {
	c.mu.Lock()
	if c.st&stClosed != 0 {
		c.mu.Unlock()
		return
	}
	if c.st&stAborted != 0 {
		c.mu.Unlock()
		l.teardown(c, nil)
		return
	}
	for c.outOff < len(c.out) {
		n, err := syscall.Write(c.fd, c.out[c.outOff:])
		if n > 0 {
			c.outOff += n
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			if !c.wantOut {
				c.wantOut = true
				ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLOUT, Fd: int32(c.fd)}
				_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev)
			}
			c.mu.Unlock()
			return
		}
		c.abortLocked(err)
		c.mu.Unlock()
		l.teardown(c, err)
		return
	}
	c.st &^= stDirty | stUrgent
	if c.wantOut {
		c.wantOut = false
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
		_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev)
	}
	shut := c.afterFlushLocked()
	c.mu.Unlock()
	if shut {
		_ = syscall.Shutdown(c.fd, syscall.SHUT_WR)
		if c.phase != phaseWS {
			l.lingerClose(c)
		}
	}
}

// lingerClose finishes an HTTP error response whose bytes are all written
// and whose write side is shut: the descriptor is closed when the client
// closes its end or after httpLinger, whichever comes first. Input that
// arrives meanwhile is read and dropped. Closing at once could reset the
// connection (a close with unread input sends RST), and a reset can reach
// the client before it has read the response.
func (l *loop) lingerClose(c *Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone || c.st&stClosed != 0 {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(httpLinger, func() {
		l.post(func() { l.teardown(c, nil) })
	})
}

// httpLinger bounds how long a refused HTTP connection is kept after its
// response, waiting for the client to close first.
const httpLinger = 500 * time.Millisecond

// flushBatch writes the pending output of many connections with one
// io_uring submission per chunk instead of one write(2) each: on this kind of
// machine a system call costs about 2 µs before it does any work, which is a
// sixth of a small delivery.
//
// The connections of a chunk are not locked while their sends are in
// flight, so that writers (a broadcast's fan-out) never wait for the
// kernel: a connection is marked stSending, and its writers append behind
// the bytes in flight without moving them (see growOutLocked). When the
// chunk completes, a connection written to meanwhile stays dirty for the
// next pass. Nothing that can run a handler happens during the chunk: every
// connection that needs the plain flush (nothing to send, a state change, a
// short send, EAGAIN, an error — any of which may tear it down and call
// OnClose, which may write to other connections of the same chunk) is set
// aside and flushed only after the whole chunk is done.
//
// With interleave (a pass over the dirty list, not the urgent one), the loop
// reads new input and flushes urgent connections between chunks. Not for
// the urgent list: there, reading early would only split the replies of a
// request/response load (echo) into more, smaller sends.
func (l *loop) flushBatch(cs []*Conn, interleave bool) {
	for len(cs) > 0 {
		if l.ring == nil { // closed by a nested pass (flushUrgent)
			for _, c := range cs {
				l.flush(c)
			}
			return
		}
		n := min(len(cs), l.ring.Space(), ringEntries)
		if n == 0 {
			for _, c := range cs {
				l.flush(c)
			}
			return
		}
		chunk := cs[:n]
		cs = cs[n:]
		l.batch = l.batch[:0]
		l.later = l.later[:0]
		for _, c := range chunk {
			if c.gone || c.inBatch {
				continue // a list may hold c twice (see flushUrgent)
			}
			c.mu.Lock()
			if c.st&(stClosed|stAborted) != 0 || c.outOff >= len(c.out) || c.wantOut {
				c.mu.Unlock()
				l.later = append(l.later, c)
				continue
			}
			c.inBatch = true
			c.st |= stSending
			i := len(l.batch)
			l.ring.PrepSend(c.fd, c.out[c.outOff:], uint64(i))
			l.want[i] = len(c.out) - c.outOff
			c.mu.Unlock()
			l.results[i] = noResult
			l.batch = append(l.batch, c)
		}
		err := l.ring.Submit(func(i uint64, res int32) { l.results[i] = res })
		if err != nil {
			l.s.cfg.Logger.Warn("websocket: io_uring submission failed; flushing with write(2) from now on", "err", err)
		}
		for i, c := range l.batch {
			c.inBatch = false
			res := l.results[i]
			c.mu.Lock()
			c.st &^= stSending
			if c.retired != nil {
				pool.Put(c.retired)
				c.retired = nil
			}
			if res > 0 {
				c.outOff += int(res)
			}
			if res <= 0 || int(res) < l.want[i] {
				c.mu.Unlock()
				l.later = append(l.later, c)
				continue
			}
			if c.outOff < len(c.out) {
				// Written to meanwhile; the writer found it dirty and did not
				// schedule it. Its next send carries everything since. It
				// leaves the urgent list, if it was on it: a later reply may
				// queue it there again.
				c.st &^= stUrgent
				c.mu.Unlock()
				l.redirty = append(l.redirty, c)
				continue
			}
			l.ringSent++
			c.st &^= stDirty | stUrgent
			shut := c.afterFlushLocked()
			c.mu.Unlock()
			if shut {
				_ = syscall.Shutdown(c.fd, syscall.SHUT_WR)
				if c.phase != phaseWS {
					l.lingering = append(l.lingering, c)
				}
			}
		}
		clear(l.batch)
		if len(l.redirty) > 0 {
			l.qmu.Lock()
			l.dirty = append(l.dirty, l.redirty...)
			l.qmu.Unlock()
			clear(l.redirty)
			l.redirty = l.redirty[:0]
		}
		// Handlers may run from here on.
		for _, c := range l.lingering {
			l.lingerClose(c)
		}
		clear(l.lingering)
		l.lingering = l.lingering[:0]
		for _, c := range l.later {
			l.flush(c)
		}
		clear(l.later)
		if interleave && len(cs) > 0 {
			l.pollInput()
			l.flushUrgent()
		}
		if err != nil {
			_ = l.ring.Close()
			l.ring = nil
			for _, c := range cs {
				l.flush(c)
			}
			return
		}
	}
}

// noResult marks a send whose completion was not seen.
const noResult = -1 << 31

// teardown closes c's descriptor and reports the close. Loop goroutine only.
func (l *loop) teardown(c *Conn, err error) {
	if c.gone {
		return
	}
	c.gone = true
	l.unregister(c)
	_ = syscall.Close(c.fd)
	if c.hs != nil {
		pool.Put(c.hs.buf)
		c.hs = nil
	}
	open := c.phase == phaseWS
	c.finish(err)
	if open {
		l.s.live.Add(-1)
	}
}

// keepalive pings connections silent for PingInterval and drops those that
// stay silent for a whole interval after the Ping (RFC 6455 §5.5.2: a Pong
// or any data proves life).
func (l *loop) keepalive() {
	for _, c := range l.conns {
		if c == nil || c.phase != phaseWS || c.gone || c.cfg.PingInterval <= 0 {
			continue
		}
		pi := int64(c.cfg.PingInterval)
		switch {
		case c.pingAt != 0 && l.now-c.pingAt >= pi:
			// A whole interval since our Ping and nothing heard.
			c.mu.Lock()
			c.abortLocked(errPingTimeout)
			c.mu.Unlock()
		case c.pingAt == 0 && l.now-c.lastRead >= pi:
			c.pingAt = l.now
			_ = c.Ping(nil)
		}
	}
}

// closeAll starts the closing handshake on every WebSocket connection.
func (l *loop) closeAll(code StatusCode, reason string) {
	l.post(func() {
		for _, c := range l.conns {
			if c == nil {
				continue
			}
			if c.phase == phaseWS {
				_ = c.Close(code, reason)
			} else {
				l.teardown(c, ErrServerClosed)
			}
		}
	})
}

func (l *loop) stop() {
	l.qmu.Lock()
	if l.stopping {
		l.qmu.Unlock()
		return
	}
	l.stopping = true
	l.sleeping = true
	l.woken = false
	l.wakeLocked()
	l.qmu.Unlock()
}

// shutdown drops every remaining connection and releases the loop. Tasks
// posted before it (connections handed to the loop, handshakes finished)
// run first, so that their connections are registered and closed here.
func (l *loop) shutdown() {
	for {
		l.qmu.Lock()
		tasks := l.tasks
		l.tasks = nil
		if len(tasks) == 0 {
			l.dead = true
			l.qmu.Unlock()
			break
		}
		l.qmu.Unlock()
		for _, f := range tasks {
			f()
		}
	}
	for _, c := range l.conns {
		if c != nil {
			l.teardown(c, ErrServerClosed)
		}
	}
	if l.ring != nil {
		_ = l.ring.Close()
	}
	_ = l.epf.Close() // closes epfd
	syscall.Close(l.evfd)
}

package websocket

import (
	"errors"
	"net"
	"time"
)

// The goroutine driver serves connections the event loop cannot own (TLS,
// other net.Conn types, non-Linux): a reader goroutine per connection, and a
// flusher goroutine only while output is pending. Both belong to the Server.

type goDriver struct{ s *Server }

func (s *Server) goAttach(c *Conn, nc net.Conn, pre []byte) {
	c.nc = nc
	c.drv = goDriver{s}
	s.mu.Lock()
	s.gconns[c] = struct{}{}
	s.mu.Unlock()
	s.live.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := c.readLoop(pre)
		s.mu.Lock()
		delete(s.gconns, c)
		s.mu.Unlock()
		s.live.Add(-1)
		_ = err
	}()
}

// schedule implements driver: start a flusher.
func (d goDriver) schedule(c *Conn) {
	d.s.wg.Add(1)
	go func() {
		defer d.s.wg.Done()
		flushBlocking(c)
	}()
}

// urgent implements driver: a flusher has no order to change.
func (goDriver) urgent(*Conn) bool { return false }

// abort implements driver: closing the net.Conn ends the reader, which tears
// the connection down.
func (d goDriver) abort(c *Conn) { _ = c.nc.Close() }

// readLoop reads and parses until the connection ends, then reports the close.
func (c *Conn) readLoop(pre []byte) error {
	c.h.OnOpen(c)
	c.mu.Lock()
	c.scheduleLocked() // the 101 response
	c.mu.Unlock()
	var err error
	if len(pre) > 0 && !c.rd.discard {
		if ferr := c.feed(pre); ferr != nil {
			c.fail(ferr)
		}
	}
	buf := make([]byte, 16<<10)
	pi := c.cfg.PingInterval
	for {
		if pi > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(pi))
		}
		var n int
		n, err = c.nc.Read(buf)
		var ne net.Error
		if n == 0 && pi > 0 && errors.As(err, &ne) && ne.Timeout() && c.state()&stAborted == 0 {
			if c.pingAt != 0 {
				err = errPingTimeout
				c.mu.Lock()
				c.abortLocked(err)
				c.mu.Unlock()
				break
			}
			c.pingAt = time.Now().UnixNano()
			_ = c.Ping(nil)
			continue
		}
		if n > 0 {
			c.pingAt = 0
		}
		if n > 0 && !c.rd.discard {
			if ferr := c.feed(buf[:n]); ferr != nil {
				c.fail(ferr)
			}
		}
		if err != nil {
			break
		}
	}
	_ = c.nc.Close()
	c.finish(err)
	return err
}

// flushBlocking writes pending output until none is left. Writers append to
// a fresh buffer while a batch is on the wire.
func flushBlocking(c *Conn) {
	for {
		c.mu.Lock()
		if c.st&(stClosed|stAborted) != 0 {
			c.st &^= stDirty
			c.mu.Unlock()
			return
		}
		if c.outOff >= len(c.out) {
			c.st &^= stDirty
			shut := c.afterFlushLocked()
			c.mu.Unlock()
			if shut {
				closeWrite(c.nc)
			}
			return
		}
		batch := c.out[c.outOff:]
		buf := c.out
		c.out, c.outOff = nil, 0
		c.mu.Unlock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.CloseTimeout + 10*time.Second))
		_, err := c.nc.Write(batch)
		pool.Put(buf)
		if err != nil {
			c.mu.Lock()
			c.st &^= stDirty
			c.abortLocked(err)
			c.mu.Unlock()
			return
		}
	}
}

func closeWrite(nc net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := nc.(closeWriter); ok {
		if err := cw.CloseWrite(); err == nil || !errors.Is(err, net.ErrClosed) {
			return
		}
	}
	_ = nc.Close()
}

package websocket

import (
	"unicode/utf8"

	"github.com/switchboard/switchboard/websocket/frame"
)

// reader is the streaming frame parser of one connection. Only the goroutine
// that reads the connection touches it. While the connection is idle it holds
// no buffer: msg and ctl are borrowed from the pool only while a message or a
// control frame is split across reads.
type reader struct {
	hdr     [frame.MaxHeaderSize]byte // a header split across reads
	hdrN    uint8
	inFrame bool
	maskPos uint8
	msgOp   frame.Opcode // opcode of the message in progress, 0 if none
	deflate bool         // the message in progress is compressed (RSV1)
	discard bool         // closing: input is dropped
	h       frame.Header // current frame
	remain  int64        // payload bytes of h still to come
	msgLen  int64        // bytes of the message so far (compressed if deflate)
	msg     []byte       // partial message (pooled)
	ctl     []byte       // partial control payload (pooled)
	utf8    frame.UTF8
}

func (r *reader) release() {
	if r.msg != nil {
		pool.Put(r.msg)
		r.msg = nil
	}
	if r.ctl != nil {
		pool.Put(r.ctl)
		r.ctl = nil
	}
}

// feed parses b, which the caller lends (it may be modified in place, and
// is not kept). It calls the handler for each complete message and answers
// control frames. A *protoError means the connection must be failed.
func (c *Conn) feed(b []byte) error {
	r := &c.rd
	for len(b) > 0 && !r.discard {
		if !r.inFrame {
			var (
				h   frame.Header
				n   int
				err error
			)
			if r.hdrN == 0 {
				h, n, err = frame.ParseHeader(b)
				if err == frame.ErrShort {
					r.hdrN = uint8(copy(r.hdr[:], b))
					return nil
				}
				if err == nil {
					b = b[n:]
				}
			} else {
				old := int(r.hdrN)
				k := copy(r.hdr[old:], b)
				h, n, err = frame.ParseHeader(r.hdr[:old+k])
				if err == frame.ErrShort {
					r.hdrN += uint8(k)
					return nil
				}
				if err == nil {
					b = b[n-old:]
					r.hdrN = 0
				}
			}
			if err != nil {
				return failf(StatusProtocolError, "%v", err)
			}
			if err := c.beginFrame(h); err != nil {
				return err
			}
		}
		n := len(b)
		if int64(n) > r.remain {
			n = int(r.remain)
		}
		p := b[:n]
		b = b[n:]
		if r.h.Masked {
			r.maskPos = uint8(frame.Mask(r.h.Mask, int(r.maskPos), p))
		}
		r.remain -= int64(n)
		last := r.remain == 0
		if last {
			r.inFrame = false
		}
		if err := c.payload(p, last); err != nil {
			return err
		}
	}
	return nil
}

// beginFrame checks a new frame header against the connection state
// (RFC 6455 §5.2-§5.5, RFC 7692 §6).
func (c *Conn) beginFrame(h frame.Header) error {
	r := &c.rd
	switch {
	case h.Rsv2 || h.Rsv3:
		return failf(StatusProtocolError, "reserved bits set")
	case h.Rsv1 && (!c.deflate || h.Op.IsControl() || h.Op == frame.OpContinuation):
		return failf(StatusProtocolError, "RSV1 set without a compressed message start")
	case h.Op.IsReserved():
		return failf(StatusProtocolError, "reserved opcode %#x", byte(h.Op))
	case h.Masked == c.client:
		if c.client {
			return failf(StatusProtocolError, "masked frame from server")
		}
		return failf(StatusProtocolError, "unmasked frame from client")
	}
	if !h.Op.IsControl() {
		if h.Op == frame.OpContinuation {
			if r.msgOp == 0 {
				return failf(StatusProtocolError, "continuation frame without a message")
			}
		} else {
			if r.msgOp != 0 {
				return failf(StatusProtocolError, "new message inside a fragmented message")
			}
			r.msgOp = h.Op
			r.deflate = h.Rsv1
			r.msgLen = 0
			r.utf8.Reset()
		}
		r.msgLen += h.Length
		if r.msgLen > c.maxMessage() {
			c.ctr.messageTooBig()
			return failf(StatusMessageTooBig, "message exceeds %d bytes", c.maxMessage())
		}
	}
	r.h = h
	r.remain = h.Length
	r.maskPos = 0
	r.inFrame = true
	return nil
}

// payload handles the next piece p of the current frame's payload; last
// says whether it ends the frame.
func (c *Conn) payload(p []byte, last bool) error {
	r := &c.rd
	if r.h.Op.IsControl() {
		if last && len(r.ctl) == 0 {
			return c.control(r.h.Op, p)
		}
		if r.ctl == nil {
			r.ctl = pool.Get(frame.MaxControlPayload)
		}
		r.ctl = append(r.ctl, p...)
		if !last {
			return nil
		}
		err := c.control(r.h.Op, r.ctl)
		pool.Put(r.ctl)
		r.ctl = nil
		return err
	}
	text := r.msgOp == frame.OpText
	fin := last && r.h.Fin
	if fin && len(r.msg) == 0 && r.h.Op != frame.OpContinuation {
		// The whole message is in p: no copy.
		if r.deflate {
			return c.inflateAndDeliver(p)
		}
		r.msgOp = 0
		if text && !utf8.Valid(p) {
			return failf(StatusInvalidPayload, "invalid UTF-8 in text message")
		}
		typ := BinaryMessage
		if text {
			typ = TextMessage
		}
		c.deliver(typ, p)
		return nil
	}
	if text && !r.deflate && !r.utf8.Write(p) {
		return failf(StatusInvalidPayload, "invalid UTF-8 in text message")
	}
	if len(p) > 0 {
		r.msg = pool.Grow(r.msg, len(p))
		r.msg = append(r.msg, p...)
	}
	if !fin {
		return nil
	}
	var err error
	if r.deflate {
		err = c.inflateAndDeliver(r.msg)
	} else if text && !r.utf8.Done() {
		err = failf(StatusInvalidPayload, "text message ends inside a UTF-8 sequence")
	} else {
		r.msgOp = 0
		typ := BinaryMessage
		if text {
			typ = TextMessage
		}
		c.deliver(typ, r.msg)
	}
	if r.msg != nil {
		pool.Put(r.msg)
		r.msg = nil
	}
	return err
}

// inflateAndDeliver decompresses a whole compressed message (RFC 7692 §7.2.2).
func (c *Conn) inflateAndDeliver(p []byte) error {
	r := &c.rd
	text := r.msgOp == frame.OpText
	r.msgOp = 0
	out, err := inflate(p, c.maxMessage())
	if err != nil {
		if err == errTooBig {
			c.ctr.messageTooBig()
			return failf(StatusMessageTooBig, "decompressed message exceeds %d bytes", c.maxMessage())
		}
		return failf(StatusInvalidPayload, "bad compressed message: %v", err)
	}
	defer pool.Put(out)
	if text && !utf8.Valid(out) {
		return failf(StatusInvalidPayload, "invalid UTF-8 in text message")
	}
	typ := BinaryMessage
	if text {
		typ = TextMessage
	}
	c.deliver(typ, out)
	return nil
}

func (c *Conn) deliver(typ MessageType, data []byte) {
	c.ctr.in(len(data))
	c.h.OnMessage(c, typ, data)
}

// control handles a complete control frame (RFC 6455 §5.5).
func (c *Conn) control(op frame.Opcode, p []byte) error {
	switch op {
	case frame.OpPing:
		c.writeControl(frame.OpPong, p)
	case frame.OpPong:
		// Any input counts as liveness; nothing else to do.
	case frame.OpClose:
		code, reason, err := frame.ParseClose(p)
		if err != nil {
			if err == frame.ErrCloseUTF8 {
				return failf(StatusInvalidPayload, "%v", err)
			}
			return failf(StatusProtocolError, "%v", err)
		}
		c.rd.discard = true
		c.peerClosed(StatusCode(code), reason)
	}
	return nil
}

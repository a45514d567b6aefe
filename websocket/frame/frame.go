// Package frame is the pure WebSocket frame codec of RFC 6455 §5: frame
// headers, masking, close payloads and UTF-8 validation. It does no I/O,
// starts no goroutines and allocates nothing on its hot paths, so that both an
// event loop and a blocking reader can build on it.
package frame

import (
	"encoding/binary"
	"errors"
)

// Opcode is a frame opcode (RFC 6455 §5.2, §11.8).
type Opcode byte

// Opcodes defined by RFC 6455 §5.2. 0x3-0x7 and 0xB-0xF are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (RFC 6455 §5.5).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsReserved reports whether op is one of the reserved opcodes.
func (op Opcode) IsReserved() bool {
	return (op > OpBinary && op < OpClose) || op > OpPong
}

// Header bits (RFC 6455 §5.2).
const (
	bitFin  = 0x80
	bitRsv1 = 0x40
	bitRsv2 = 0x20
	bitRsv3 = 0x10
	bitMask = 0x80
)

// MaxControlPayload is the largest control frame payload (RFC 6455 §5.5).
const MaxControlPayload = 125

// MaxHeaderSize is the largest encoded header: 2 + 8 (64-bit length) + 4 (mask).
const MaxHeaderSize = 14

// Header is a decoded frame header.
type Header struct {
	Fin    bool
	Rsv1   bool // permessage-deflate "compressed" bit (RFC 7692 §6)
	Rsv2   bool
	Rsv3   bool
	Op     Opcode
	Masked bool
	Mask   [4]byte
	Length int64
}

// Errors returned by ParseHeader. They describe protocol violations; a
// WebSocket endpoint answers them with close code 1002.
var (
	ErrShort           = errors.New("frame: need more data")
	ErrLengthEncoding  = errors.New("frame: payload length not in minimal encoding or most significant bit set")
	ErrControlTooLong  = errors.New("frame: control frame payload longer than 125 bytes")
	ErrControlFragment = errors.New("frame: fragmented control frame")
)

// ParseHeader decodes the header at the start of b. It returns the header
// and its encoded size, or ErrShort when b does not yet hold the whole header.
// It checks what the header alone can tell (RFC 6455 §5.2 length rules, §5.5
// control frame rules); reserved bits and opcodes are left to the caller,
// which knows the negotiated extensions.
func ParseHeader(b []byte) (Header, int, error) {
	var h Header
	if len(b) < 2 {
		return h, 0, ErrShort
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&bitFin != 0
	h.Rsv1 = b0&bitRsv1 != 0
	h.Rsv2 = b0&bitRsv2 != 0
	h.Rsv3 = b0&bitRsv3 != 0
	h.Op = Opcode(b0 & 0x0f)
	h.Masked = b1&bitMask != 0
	n := 2
	switch l := b1 & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, ErrShort
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
		if h.Length < 126 {
			return h, 0, ErrLengthEncoding
		}
	case 127:
		if len(b) < 10 {
			return h, 0, ErrShort
		}
		v := binary.BigEndian.Uint64(b[2:10])
		n = 10
		if v>>63 != 0 || v <= 0xffff {
			return h, 0, ErrLengthEncoding
		}
		h.Length = int64(v)
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrShort
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	if h.Op.IsControl() {
		if h.Length > MaxControlPayload {
			return h, 0, ErrControlTooLong
		}
		if !h.Fin {
			return h, 0, ErrControlFragment
		}
	}
	return h, n, nil
}

// HeaderSize returns the encoded size of a header for a payload of length n.
func HeaderSize(n int, masked bool) int {
	s := 2
	switch {
	case n > 0xffff:
		s = 10
	case n > 125:
		s = 4
	}
	if masked {
		s += 4
	}
	return s
}

// AppendHeader appends the encoding of h to dst and returns the result.
func AppendHeader(dst []byte, h Header) []byte {
	var b0 byte = byte(h.Op) & 0x0f
	if h.Fin {
		b0 |= bitFin
	}
	if h.Rsv1 {
		b0 |= bitRsv1
	}
	if h.Rsv2 {
		b0 |= bitRsv2
	}
	if h.Rsv3 {
		b0 |= bitRsv3
	}
	var m byte
	if h.Masked {
		m = bitMask
	}
	switch {
	case h.Length > 0xffff:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	case h.Length > 125:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, m|byte(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole unmasked frame (server to client) with payload p.
func AppendFrame(dst []byte, op Opcode, fin, rsv1 bool, p []byte) []byte {
	dst = AppendHeader(dst, Header{Fin: fin, Rsv1: rsv1, Op: op, Length: int64(len(p))})
	return append(dst, p...)
}

// AppendMaskedFrame appends a whole masked frame (client to server) with
// payload p masked by key; p itself is not modified.
func AppendMaskedFrame(dst []byte, op Opcode, fin, rsv1 bool, key [4]byte, p []byte) []byte {
	dst = AppendHeader(dst, Header{Fin: fin, Rsv1: rsv1, Op: op, Masked: true, Mask: key, Length: int64(len(p))})
	start := len(dst)
	dst = append(dst, p...)
	Mask(key, 0, dst[start:])
	return dst
}

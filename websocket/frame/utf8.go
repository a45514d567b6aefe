package frame

import "unicode/utf8"

// UTF8 is an incremental UTF-8 validator for text messages that arrive in
// pieces (RFC 6455 §8.1). It fails as soon as a byte makes the sequence
// invalid, even in the middle of a fragment, so an endpoint can close with
// 1007 without waiting for the rest of the message ("fail fast"). The zero
// value is ready; it keeps at most 3 bytes of an unfinished code point.
type UTF8 struct {
	pend [4]byte
	n    uint8 // bytes in pend
}

// Reset makes v ready for a new message.
func (v *UTF8) Reset() { v.n = 0 }

// Write checks the next piece of the message. It returns false once the
// bytes seen so far cannot begin a valid UTF-8 text.
func (v *UTF8) Write(p []byte) bool {
	if v.n > 0 {
		// Complete the pending code point first.
		need := seqLen(v.pend[0])
		for v.n < uint8(need) && len(p) > 0 {
			v.pend[v.n] = p[0]
			v.n++
			p = p[1:]
			if !prefixOK(v.pend[:v.n]) {
				return false
			}
		}
		if v.n < uint8(need) {
			return true
		}
		if !utf8.FullRune(v.pend[:v.n]) {
			return false
		}
		r, size := utf8.DecodeRune(v.pend[:v.n])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		v.n = 0
	}
	// ASCII fast path, eight bytes at a time.
	i := 0
	for len(p)-i >= 8 {
		if p[i]|p[i+1]|p[i+2]|p[i+3]|p[i+4]|p[i+5]|p[i+6]|p[i+7] >= 0x80 {
			break
		}
		i += 8
	}
	p = p[i:]
	for len(p) > 0 {
		c := p[0]
		if c < 0x80 {
			p = p[1:]
			continue
		}
		need := seqLen(c)
		if need == 0 {
			return false
		}
		if len(p) < need {
			// Unfinished code point at the end of this piece.
			if !prefixOK(p) {
				return false
			}
			v.n = uint8(copy(v.pend[:], p))
			return true
		}
		r, size := utf8.DecodeRune(p[:need])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		p = p[need:]
	}
	return true
}

// Done reports whether the message ended on a code point boundary; call it
// after the last piece.
func (v *UTF8) Done() bool { return v.n == 0 }

// seqLen is the length of the sequence a lead byte starts, or 0 if c cannot
// start one (continuation bytes, overlong 0xC0/0xC1, 0xF5 and above).
func seqLen(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 0
}

// prefixOK reports whether p (shorter than its sequence) can still grow into
// a valid code point: the second byte's range depends on the lead byte
// (RFC 3629 §4), later bytes are plain continuation bytes.
func prefixOK(p []byte) bool {
	if seqLen(p[0]) == 0 {
		return false
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		lo, hi := byte(0x80), byte(0xBF)
		if i == 1 {
			switch p[0] {
			case 0xE0:
				lo = 0xA0
			case 0xED:
				hi = 0x9F
			case 0xF0:
				lo = 0x90
			case 0xF4:
				hi = 0x8F
			}
		}
		if c < lo || c > hi {
			return false
		}
	}
	return true
}

package stun

import "encoding/binary"

// Channel numbers a client may bind (RFC 8656 §12): 0x4000 through 0x4FFF.
// 0x5000-0xFFFF are reserved. RFC 5766 §11, which RFC 8656 replaced, allowed
// up to 0x7FFF, and clients still use that range (coturn's turnutils pick
// from it), so MaxChannelRFC5766 is the bound for accepting them.
const (
	MinChannel        uint16 = 0x4000
	MaxChannel        uint16 = 0x4FFF
	MaxChannelRFC5766 uint16 = 0x7FFF
)

// ChannelDataHeaderSize is the size of the ChannelData header: channel number
// and length (RFC 8656 §12.4).
const ChannelDataHeaderSize = 4

// IsChannelData reports whether b starts with a ChannelData header: first
// two bits 01, a channel number in 0x4000-0x7FFF (RFC 8656 §12 narrows
// that to 0x4000-0x4FFF; RFC 5766 §11 clients use it all; RFC 7983 §7).
func IsChannelData(b []byte) bool {
	return len(b) >= ChannelDataHeaderSize && b[0]&0xC0 == 0x40
}

// ParseChannelData decodes a ChannelData message (RFC 8656 §12.4). data
// aliases b. Bytes after the declared length (padding, or the rest of a
// datagram) are ignored; a length that exceeds b is an error.
func ParseChannelData(b []byte) (channel uint16, data []byte, err error) {
	if !IsChannelData(b) {
		return 0, nil, errChannel
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if ChannelDataHeaderSize+n > len(b) {
		return 0, nil, errChannel
	}
	return binary.BigEndian.Uint16(b[0:2]), b[4 : 4+n : 4+n], nil
}

// PutChannelDataHeader writes the 4-byte ChannelData header for a payload
// of n bytes into b[:4]. The relay path reads a peer's datagram into
// b[4:] and then calls this, so the payload is never copied.
func PutChannelDataHeader(b []byte, channel uint16, n int) {
	binary.BigEndian.PutUint16(b[0:2], channel)
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
}

// ChannelDataPadding returns how many zero bytes follow an n-byte payload
// over a stream transport (RFC 8656 §12.5: TCP and TLS pad to a multiple of
// 4; UDP does not pad).
func ChannelDataPadding(n int) int { return pad4(n) - n }

// AppendChannelData appends a ChannelData message carrying data to dst,
// padded when stream is true.
func AppendChannelData(dst []byte, channel uint16, data []byte, stream bool) []byte {
	var h [ChannelDataHeaderSize]byte
	PutChannelDataHeader(h[:], channel, len(data))
	dst = append(dst, h[:]...)
	dst = append(dst, data...)
	if stream {
		dst = append(dst, make([]byte, ChannelDataPadding(len(data)))...)
	}
	return dst
}

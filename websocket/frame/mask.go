package frame

import "encoding/binary"

// Mask XORs b in place with the masking key (RFC 6455 §5.3), starting at
// position pos of the key stream, and returns the key position after b. A
// payload that arrives in pieces is unmasked by passing each call the
// position returned by the previous one.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	// Bytes until b is worked through in words.
	i := 0
	for ; i < len(b) && pos != 0; i++ {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	if len(b)-i >= 8 {
		k32 := binary.LittleEndian.Uint32(key[:])
		k := uint64(k32) | uint64(k32)<<32
		// pos is 0 here, so word positions line up with the key.
		for ; len(b)-i >= 32; i += 32 {
			s := b[i : i+32]
			binary.LittleEndian.PutUint64(s[0:], binary.LittleEndian.Uint64(s[0:])^k)
			binary.LittleEndian.PutUint64(s[8:], binary.LittleEndian.Uint64(s[8:])^k)
			binary.LittleEndian.PutUint64(s[16:], binary.LittleEndian.Uint64(s[16:])^k)
			binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])^k)
		}
		for ; len(b)-i >= 8; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k)
		}
	}
	for ; i < len(b); i++ {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

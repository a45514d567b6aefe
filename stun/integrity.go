package stun

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"hash/crc32"
)

// Sizes of the authentication attributes' values.
const (
	integritySize       = 20 // HMAC-SHA1, RFC 8489 §14.5
	integritySHA256Size = 32 // HMAC-SHA256, RFC 8489 §14.6
	fingerprintSize     = 4  // CRC-32, RFC 8489 §14.7
)

// fingerprintXOR is XORed into the CRC-32 so that FINGERPRINT differs from
// the CRC of other protocols sharing the port (RFC 8489 §14.7: "STUN").
const fingerprintXOR uint32 = 0x5354554e

// LongTermKey derives the long-term credential key for the MD5 password
// algorithm: MD5(username ":" realm ":" password) (RFC 8489 §9.2.2).
//
// The OpaqueString profile (RFC 8265) is not applied: callers pass
// already-prepared strings, which for ASCII credentials is the identity.
func LongTermKey(username, realm, password string) [16]byte {
	b := make([]byte, 0, len(username)+len(realm)+len(password)+2)
	b = append(b, username...)
	b = append(b, ':')
	b = append(b, realm...)
	b = append(b, ':')
	b = append(b, password...)
	return md5.Sum(b)
}

// LongTermKeySHA256 derives the key for PASSWORD-ALGORITHM SHA-256:
// SHA-256(username ":" realm ":" password) (RFC 8489 §9.2.2).
func LongTermKeySHA256(username, realm, password string) [32]byte {
	return sha256.Sum256([]byte(username + ":" + realm + ":" + password))
}

// Userhash computes the USERHASH value SHA-256(username ":" realm)
// (RFC 8489 §14.4).
func Userhash(username, realm string) [32]byte {
	return sha256.Sum256([]byte(username + ":" + realm))
}

func (m *Message) scratch() *scratch {
	if m.sc == nil {
		m.sc = &scratch{sha1: sha1.New(), sha256: sha256.New()}
	}
	return m.sc
}

// mac computes HMAC(key, a || b) with h (RFC 2104), reusing s's buffers so
// that nothing is allocated. The result aliases s.sum.
func (s *scratch) mac(h hash.Hash, key, a, b []byte) []byte {
	if len(key) > len(s.pad) {
		h.Reset()
		h.Write(key)
		key = h.Sum(s.key[:0])
	}
	for i := range s.pad {
		s.pad[i] = 0x36
	}
	for i, k := range key {
		s.pad[i] ^= k
	}
	h.Reset()
	h.Write(s.pad[:])
	h.Write(a)
	h.Write(b)
	inner := h.Sum(s.sum[:0])
	for i := range s.pad {
		s.pad[i] = 0x5c
	}
	for i, k := range key {
		s.pad[i] ^= k
	}
	h.Reset()
	h.Write(s.pad[:])
	h.Write(inner)
	return h.Sum(s.sum[:0])
}

// headerWithLength copies the header with its length field set to n, as the
// integrity and fingerprint computations require (RFC 8489 §14.5).
func (s *scratch) headerWithLength(raw []byte, n int) []byte {
	copy(s.hdr[:], raw[:HeaderSize])
	binary.BigEndian.PutUint16(s.hdr[2:4], uint16(n))
	return s.hdr[:]
}

// AddIntegrity appends MESSAGE-INTEGRITY: HMAC-SHA1 with key over the
// message so far, the header length already counting this attribute
// (RFC 8489 §14.5). For long-term credentials key is [LongTermKey]; for
// short-term ones it is the password.
func (m *Message) AddIntegrity(key []byte) {
	m.addMAC(AttrMessageIntegrity, m.scratch().sha1, key, integritySize)
}

// AddIntegritySHA256 appends MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6),
// untruncated.
func (m *Message) AddIntegritySHA256(key []byte) {
	m.addMAC(AttrMessageIntegritySHA256, m.scratch().sha256, key, integritySHA256Size)
}

func (m *Message) addMAC(t AttrType, h hash.Hash, key []byte, size int) {
	s := m.sc
	off := len(m.Raw)
	hdr := s.headerWithLength(m.Raw, off-HeaderSize+4+size)
	sum := s.mac(h, key, hdr, m.Raw[HeaderSize:off])
	copy(m.grow(t, size), sum)
}

// CheckIntegrity verifies MESSAGE-INTEGRITY with key (RFC 8489 §14.5). It
// returns ErrNoAttribute when the attribute is absent and ErrIntegrity when
// it does not match.
func (m *Message) CheckIntegrity(key []byte) error {
	return m.checkMAC(AttrMessageIntegrity, key)
}

// CheckIntegritySHA256 verifies MESSAGE-INTEGRITY-SHA256, which may be
// truncated to 16..32 bytes in steps of 4 (RFC 8489 §14.6).
func (m *Message) CheckIntegritySHA256(key []byte) error {
	return m.checkMAC(AttrMessageIntegritySHA256, key)
}

func (m *Message) checkMAC(t AttrType, key []byte) error {
	for i := range m.Attributes {
		a := &m.Attributes[i]
		if a.Type != t {
			continue
		}
		s := m.scratch()
		h, size := s.sha1, integritySize
		if t == AttrMessageIntegritySHA256 {
			h, size = s.sha256, integritySHA256Size
			if len(a.Value) < 16 || len(a.Value) > size || len(a.Value)%4 != 0 {
				return ErrIntegrity
			}
		} else if len(a.Value) != size {
			return ErrIntegrity
		}
		hdr := s.headerWithLength(m.Raw, a.offset-HeaderSize+4+len(a.Value))
		sum := s.mac(h, key, hdr, m.Raw[HeaderSize:a.offset])
		if subtle.ConstantTimeCompare(sum[:len(a.Value)], a.Value) != 1 {
			return ErrIntegrity
		}
		return nil
	}
	return ErrNoAttribute
}

// AddFingerprint appends FINGERPRINT, which must come last: CRC-32 of the
// message so far XOR 0x5354554e (RFC 8489 §14.7).
func (m *Message) AddFingerprint() {
	s := m.scratch()
	off := len(m.Raw)
	hdr := s.headerWithLength(m.Raw, off-HeaderSize+4+fingerprintSize)
	crc := crc32.Update(0, crc32.IEEETable, hdr)
	crc = crc32.Update(crc, crc32.IEEETable, m.Raw[HeaderSize:off])
	binary.BigEndian.PutUint32(m.grow(AttrFingerprint, fingerprintSize), crc^fingerprintXOR)
}

// CheckFingerprint verifies FINGERPRINT (RFC 8489 §14.7). It returns
// ErrNoAttribute when the message has none.
func (m *Message) CheckFingerprint() error {
	for i := range m.Attributes {
		a := &m.Attributes[i]
		if a.Type != AttrFingerprint {
			continue
		}
		if len(a.Value) != fingerprintSize {
			return ErrFingerprint
		}
		s := m.scratch()
		hdr := s.headerWithLength(m.Raw, a.offset-HeaderSize+4+fingerprintSize)
		crc := crc32.Update(0, crc32.IEEETable, hdr)
		crc = crc32.Update(crc, crc32.IEEETable, m.Raw[HeaderSize:a.offset])
		if binary.BigEndian.Uint32(a.Value) != crc^fingerprintXOR {
			return ErrFingerprint
		}
		return nil
	}
	return ErrNoAttribute
}

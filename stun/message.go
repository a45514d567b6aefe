package stun

import (
	"encoding/binary"
	"hash"
)

// MagicCookie is the fixed value in bytes 4..8 of every STUN message
// (RFC 8489 §5).
const MagicCookie uint32 = 0x2112A442

// HeaderSize is the size of the STUN message header (RFC 8489 §5).
const HeaderSize = 20

// MaxAttributes bounds how many attributes Decode records, so that a hostile
// datagram cannot make a reused Message grow without limit.
const MaxAttributes = 64

// Method is a STUN method (RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1).
type Method uint16

// Methods.
const (
	MethodBinding           Method = 0x001 // RFC 8489
	MethodAllocate          Method = 0x003 // RFC 8656 §7
	MethodRefresh           Method = 0x004 // RFC 8656 §8
	MethodSend              Method = 0x006 // RFC 8656 §11
	MethodData              Method = 0x007 // RFC 8656 §11
	MethodCreatePermission  Method = 0x008 // RFC 8656 §10
	MethodChannelBind       Method = 0x009 // RFC 8656 §12
	MethodConnect           Method = 0x00A // RFC 6062 §4.3, §6.1
	MethodConnectionBind    Method = 0x00B // RFC 6062 §4.4, §6.1
	MethodConnectionAttempt Method = 0x00C // RFC 6062 §4.4, §6.1 (indication only)
)

func (m Method) String() string {
	switch m {
	case MethodBinding:
		return "Binding"
	case MethodAllocate:
		return "Allocate"
	case MethodRefresh:
		return "Refresh"
	case MethodSend:
		return "Send"
	case MethodData:
		return "Data"
	case MethodCreatePermission:
		return "CreatePermission"
	case MethodChannelBind:
		return "ChannelBind"
	case MethodConnect:
		return "Connect"
	case MethodConnectionBind:
		return "ConnectionBind"
	case MethodConnectionAttempt:
		return "ConnectionAttempt"
	}
	return "Method(0x" + hex16(uint16(m)) + ")"
}

// Class is a STUN message class (RFC 8489 §5).
type Class uint8

// Classes.
const (
	ClassRequest       Class = 0b00
	ClassIndication    Class = 0b01
	ClassSuccess       Class = 0b10
	ClassErrorResponse Class = 0b11
)

func (c Class) String() string {
	switch c {
	case ClassRequest:
		return "request"
	case ClassIndication:
		return "indication"
	case ClassSuccess:
		return "success response"
	case ClassErrorResponse:
		return "error response"
	}
	return "class?"
}

// Type is a message type: a method and a class.
type Type struct {
	Method Method
	Class  Class
}

// Value encodes t as the 14-bit message type field (RFC 8489 §5, Figure 3):
// the class bits C1 and C0 sit at bits 8 and 4, the method bits around them.
func (t Type) Value() uint16 {
	m := uint16(t.Method)
	v := m&0x000F | (m&0x0070)<<1 | (m&0x0F80)<<2
	c := uint16(t.Class)
	v |= (c&1)<<4 | (c&2)<<7
	return v
}

// TypeOf decodes the 14-bit message type field.
func TypeOf(v uint16) Type {
	m := v&0x000F | (v&0x00E0)>>1 | (v&0x3E00)>>2
	c := (v>>4)&1 | (v>>7)&2
	return Type{Method: Method(m), Class: Class(c)}
}

func (t Type) String() string { return t.Method.String() + " " + t.Class.String() }

// Common types.
var (
	BindingRequest = Type{MethodBinding, ClassRequest}
	BindingSuccess = Type{MethodBinding, ClassSuccess}
	BindingError   = Type{MethodBinding, ClassErrorResponse}
)

// TransactionID is the 96-bit transaction identifier (RFC 8489 §5).
type TransactionID [12]byte

// Attribute is one decoded attribute. Value aliases Message.Raw.
type Attribute struct {
	Type   AttrType
	Value  []byte
	offset int // offset of the attribute header in Raw
}

// Message is a STUN message, decoded from or being encoded into Raw.
//
// A Message is meant to be reused: Decode and Reset keep the capacity of Raw
// and Attributes, and the hashers used for integrity are created once.
type Message struct {
	Type          Type
	TransactionID TransactionID
	// Attributes in wire order. Attributes that RFC 8489 §14.5 and §14.7 say
	// to ignore (those after MESSAGE-INTEGRITY other than
	// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, and anything after
	// FINGERPRINT) are not recorded.
	Attributes []Attribute
	// Raw holds the encoded message: the caller's bytes after Decode, the
	// message built so far while encoding.
	Raw []byte

	sc *scratch
}

// scratch holds what integrity computations need, on the heap once per
// Message so hash.Hash calls do not allocate per message.
type scratch struct {
	sha1, sha256 hash.Hash
	hdr          [HeaderSize]byte
	pad          [64]byte
	key          [32]byte
	sum          [64]byte
}

// IsMessage reports whether b starts like a STUN message: first two bits
// zero and the magic cookie in place (RFC 8489 §5, RFC 7983 §7). It is the
// cheap demultiplexing test; Decode does the full check.
func IsMessage(b []byte) bool {
	return len(b) >= HeaderSize && b[0]&0xC0 == 0 &&
		binary.BigEndian.Uint32(b[4:8]) == MagicCookie
}

// Decode parses b into m without copying: m.Raw becomes b[:HeaderSize+length].
// Bytes past the header's length are ignored (a datagram carries one
// message; on streams use [FrameLength] first).
func (m *Message) Decode(b []byte) error {
	m.Attributes = m.Attributes[:0]
	m.Raw = nil
	if len(b) < HeaderSize {
		return errShort
	}
	if b[0]&0xC0 != 0 {
		return errFirstBits
	}
	if binary.BigEndian.Uint32(b[4:8]) != MagicCookie {
		return errCookie
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n%4 != 0 || HeaderSize+n > len(b) {
		return errLength
	}
	b = b[:HeaderSize+n]
	m.Type = TypeOf(binary.BigEndian.Uint16(b[0:2]))
	copy(m.TransactionID[:], b[8:20])
	sawMI, sawFP := false, false
	for off := HeaderSize; off < len(b); {
		if len(b)-off < 4 {
			return errAttrLength
		}
		t := AttrType(binary.BigEndian.Uint16(b[off:]))
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		end := off + 4 + l
		padded := off + 4 + pad4(l)
		if padded > len(b) {
			return errAttrLength
		}
		// RFC 8489 §14.5: after MESSAGE-INTEGRITY only
		// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count; §14.7: nothing
		// counts after FINGERPRINT.
		record := !sawFP && (!sawMI || t == AttrMessageIntegritySHA256 || t == AttrFingerprint)
		if record {
			if len(m.Attributes) >= MaxAttributes {
				return errTooManyAttr
			}
			m.Attributes = append(m.Attributes, Attribute{Type: t, Value: b[off+4 : end : end], offset: off})
			switch t {
			case AttrMessageIntegrity, AttrMessageIntegritySHA256:
				sawMI = true
			case AttrFingerprint:
				sawFP = true
			}
		}
		off = padded
	}
	m.Raw = b
	return nil
}

// Get returns the value of the first attribute of type t.
func (m *Message) Get(t AttrType) ([]byte, bool) {
	for i := range m.Attributes {
		if m.Attributes[i].Type == t {
			return m.Attributes[i].Value, true
		}
	}
	return nil, false
}

// Has reports whether an attribute of type t is present.
func (m *Message) Has(t AttrType) bool {
	_, ok := m.Get(t)
	return ok
}

// Reset starts a new message of type t with transaction ID id in m, keeping
// m's buffers.
func (m *Message) Reset(t Type, id TransactionID) {
	m.Type = t
	m.TransactionID = id
	m.Attributes = m.Attributes[:0]
	if cap(m.Raw) < 512 {
		m.Raw = make([]byte, HeaderSize, 512)
	}
	m.Raw = m.Raw[:HeaderSize]
	binary.BigEndian.PutUint16(m.Raw[0:2], t.Value())
	binary.BigEndian.PutUint16(m.Raw[2:4], 0)
	binary.BigEndian.PutUint32(m.Raw[4:8], MagicCookie)
	copy(m.Raw[8:20], id[:])
}

// Add appends an attribute with value v, zero-padded to 4 bytes
// (RFC 8489 §14), and updates the header length.
func (m *Message) Add(t AttrType, v []byte) {
	val := m.grow(t, len(v))
	copy(val, v)
}

// AddString appends an attribute whose value is s.
func (m *Message) AddString(t AttrType, s string) {
	val := m.grow(t, len(s))
	copy(val, s)
}

// grow appends an attribute header for an n-byte value plus padding and
// returns the value bytes for the caller to fill.
func (m *Message) grow(t AttrType, n int) []byte {
	off := len(m.Raw)
	total := 4 + pad4(n)
	// append(s, make(...)...) is compiled to an in-place, zeroed extension:
	// no allocation while capacity lasts, and the padding is zero.
	m.Raw = append(m.Raw, make([]byte, total)...)
	binary.BigEndian.PutUint16(m.Raw[off:], uint16(t))
	binary.BigEndian.PutUint16(m.Raw[off+2:], uint16(n))
	binary.BigEndian.PutUint16(m.Raw[2:4], uint16(len(m.Raw)-HeaderSize))
	val := m.Raw[off+4 : off+4+n : off+4+n]
	m.Attributes = append(m.Attributes, Attribute{Type: t, Value: val, offset: off})
	return val
}

// FrameLength reports how many bytes the STUN or ChannelData message at the
// start of b occupies on a stream transport (TCP, TLS), including the
// ChannelData padding to a multiple of 4 that RFC 8656 §12.5 requires over
// streams. It returns 0 and no error when b is too short to tell.
func FrameLength(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, nil
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case b[0]&0xC0 == 0:
		if n%4 != 0 {
			return 0, errLength
		}
		return HeaderSize + n, nil
	case IsChannelData(b):
		return 4 + pad4(n), nil
	}
	return 0, errNotFramed
}

func pad4(n int) int { return (n + 3) &^ 3 }

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12&0xF], digits[v>>8&0xF], digits[v>>4&0xF], digits[v&0xF]})
}

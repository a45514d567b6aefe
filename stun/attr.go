package stun

import (
	"encoding/binary"
	"net/netip"
)

// AttrType is a STUN attribute type (RFC 8489 §18.3).
type AttrType uint16

// Attributes from RFC 8489 §18.3.
const (
	AttrMappedAddress          AttrType = 0x0001
	AttrUsername               AttrType = 0x0006
	AttrMessageIntegrity       AttrType = 0x0008
	AttrErrorCode              AttrType = 0x0009
	AttrUnknownAttributes      AttrType = 0x000A
	AttrRealm                  AttrType = 0x0014
	AttrNonce                  AttrType = 0x0015
	AttrMessageIntegritySHA256 AttrType = 0x001C
	AttrPasswordAlgorithm      AttrType = 0x001D
	AttrUserhash               AttrType = 0x001E
	AttrXORMappedAddress       AttrType = 0x0020
	AttrPasswordAlgorithms     AttrType = 0x8002
	AttrAlternateDomain        AttrType = 0x8003
	AttrSoftware               AttrType = 0x8022
	AttrAlternateServer        AttrType = 0x8023
	AttrFingerprint            AttrType = 0x8028
)

// Attributes from RFC 8656 §18 and RFC 6156.
const (
	AttrChannelNumber           AttrType = 0x000C
	AttrLifetime                AttrType = 0x000D
	AttrXORPeerAddress          AttrType = 0x0012
	AttrData                    AttrType = 0x0013
	AttrXORRelayedAddress       AttrType = 0x0016
	AttrRequestedAddressFamily  AttrType = 0x0017
	AttrEvenPort                AttrType = 0x0018
	AttrRequestedTransport      AttrType = 0x0019
	AttrDontFragment            AttrType = 0x001A
	AttrReservationToken        AttrType = 0x0022
	AttrAdditionalAddressFamily AttrType = 0x8000
	AttrAddressErrorCode        AttrType = 0x8001
	AttrICMP                    AttrType = 0x8004
)

// AttrConnectionID is CONNECTION-ID (RFC 6062 §6.2.1): the 32-bit
// identifier of a TCP connection of a TCP allocation.
const AttrConnectionID AttrType = 0x002A

// Required reports whether t is comprehension-required (0x0000-0x7FFF,
// RFC 8489 §14): a receiver that does not know it must reject the request
// with 420 and UNKNOWN-ATTRIBUTES.
func (t AttrType) Required() bool { return t < 0x8000 }

// Address families in address attributes (RFC 8489 §14.1) and in
// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.10).
const (
	FamilyIPv4 byte = 0x01
	FamilyIPv6 byte = 0x02
)

// Transport protocol numbers for REQUESTED-TRANSPORT (RFC 8656 §18.11).
const (
	ProtoUDP byte = 17
	ProtoTCP byte = 6
)

// AddXORAddress appends an XOR-encoded address attribute such as
// XOR-MAPPED-ADDRESS (RFC 8489 §14.2): port XOR the cookie's top 16 bits,
// IPv4 XOR the cookie, IPv6 XOR the cookie and the transaction ID.
// IPv4-mapped IPv6 addresses are encoded as IPv4.
func (m *Message) AddXORAddress(t AttrType, ap netip.AddrPort) {
	ip := ap.Addr().Unmap()
	n := 20
	if ip.Is4() {
		n = 8
	}
	v := m.grow(t, n)
	putXOR(v, ip, ap.Port(), &m.TransactionID)
}

// AddAddress appends a plain (not XORed) address attribute such as
// MAPPED-ADDRESS (RFC 8489 §14.1).
func (m *Message) AddAddress(t AttrType, ap netip.AddrPort) {
	ip := ap.Addr().Unmap()
	n := 20
	if ip.Is4() {
		n = 8
	}
	v := m.grow(t, n)
	v[0] = 0
	binary.BigEndian.PutUint16(v[2:4], ap.Port())
	if ip.Is4() {
		v[1] = FamilyIPv4
		a := ip.As4()
		copy(v[4:], a[:])
	} else {
		v[1] = FamilyIPv6
		a := ip.As16()
		copy(v[4:], a[:])
	}
}

func putXOR(v []byte, ip netip.Addr, port uint16, id *TransactionID) {
	v[0] = 0
	binary.BigEndian.PutUint16(v[2:4], port^uint16(MagicCookie>>16))
	if ip.Is4() {
		v[1] = FamilyIPv4
		a := ip.As4()
		binary.BigEndian.PutUint32(v[4:8], binary.BigEndian.Uint32(a[:])^MagicCookie)
		return
	}
	v[1] = FamilyIPv6
	a := ip.As16()
	var k [16]byte
	binary.BigEndian.PutUint32(k[:4], MagicCookie)
	copy(k[4:], id[:])
	for i := range a {
		v[4+i] = a[i] ^ k[i]
	}
}

// XORAddress decodes an XOR-encoded address value (RFC 8489 §14.2).
func XORAddress(v []byte, id *TransactionID) (netip.AddrPort, error) {
	if len(v) < 4 || v[0] != 0 {
		return netip.AddrPort{}, errAddress
	}
	port := binary.BigEndian.Uint16(v[2:4]) ^ uint16(MagicCookie>>16)
	switch {
	case v[1] == FamilyIPv4 && len(v) == 8:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(v[4:8])^MagicCookie)
		return netip.AddrPortFrom(netip.AddrFrom4(a), port), nil
	case v[1] == FamilyIPv6 && len(v) == 20:
		var k, a [16]byte
		binary.BigEndian.PutUint32(k[:4], MagicCookie)
		copy(k[4:], id[:])
		for i := range a {
			a[i] = v[4+i] ^ k[i]
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a), port), nil
	}
	return netip.AddrPort{}, errAddress
}

// Address decodes a plain address value (RFC 8489 §14.1).
func Address(v []byte) (netip.AddrPort, error) {
	if len(v) < 4 || v[0] != 0 {
		return netip.AddrPort{}, errAddress
	}
	port := binary.BigEndian.Uint16(v[2:4])
	switch {
	case v[1] == FamilyIPv4 && len(v) == 8:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(v[4:8])), port), nil
	case v[1] == FamilyIPv6 && len(v) == 20:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(v[4:20])), port), nil
	}
	return netip.AddrPort{}, errAddress
}

// GetXORAddress decodes the first attribute of type t as an XOR address.
func (m *Message) GetXORAddress(t AttrType) (netip.AddrPort, error) {
	v, ok := m.Get(t)
	if !ok {
		return netip.AddrPort{}, ErrNoAttribute
	}
	return XORAddress(v, &m.TransactionID)
}

// AddUint32 appends a 4-byte attribute such as LIFETIME (RFC 8656 §18.2).
func (m *Message) AddUint32(t AttrType, x uint32) {
	binary.BigEndian.PutUint32(m.grow(t, 4), x)
}

// GetUint32 decodes the first attribute of type t as a 4-byte integer.
func (m *Message) GetUint32(t AttrType) (uint32, error) {
	v, ok := m.Get(t)
	if !ok {
		return 0, ErrNoAttribute
	}
	if len(v) != 4 {
		return 0, errAttrSize
	}
	return binary.BigEndian.Uint32(v), nil
}

// AddErrorCode appends ERROR-CODE (RFC 8489 §14.8): class = code/100 in
// 3 bits, number = code%100, then the reason phrase (the standard one when
// reason is empty).
func (m *Message) AddErrorCode(code int, reason string) {
	if reason == "" {
		reason = ReasonPhrase(code)
	}
	v := m.grow(AttrErrorCode, 4+len(reason))
	v[0], v[1] = 0, 0
	v[2] = byte(code/100) & 0x07
	v[3] = byte(code % 100)
	copy(v[4:], reason)
}

// ErrorCode decodes an ERROR-CODE value (RFC 8489 §14.8).
func ErrorCode(v []byte) (code int, reason []byte, err error) {
	if len(v) < 4 {
		return 0, nil, errErrorCode
	}
	class, num := int(v[2]&0x07), int(v[3])
	if class < 3 || class > 6 || num > 99 {
		return 0, nil, errErrorCode
	}
	return class*100 + num, v[4:], nil
}

// AddUnknownAttributes appends UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
func (m *Message) AddUnknownAttributes(types []AttrType) {
	v := m.grow(AttrUnknownAttributes, 2*len(types))
	for i, t := range types {
		binary.BigEndian.PutUint16(v[2*i:], uint16(t))
	}
}

// UnknownAttributes decodes an UNKNOWN-ATTRIBUTES value, appending to dst.
func UnknownAttributes(dst []AttrType, v []byte) ([]AttrType, error) {
	if len(v)%2 != 0 {
		return dst, errAttrSize
	}
	for i := 0; i < len(v); i += 2 {
		dst = append(dst, AttrType(binary.BigEndian.Uint16(v[i:])))
	}
	return dst, nil
}

// PasswordAlgorithm values (RFC 8489 §18.5).
const (
	PasswordMD5    uint16 = 0x0001
	PasswordSHA256 uint16 = 0x0002
)

// PasswordAlgorithm decodes a PASSWORD-ALGORITHM value (RFC 8489 §14.12):
// the algorithm number, then parameters that MD5 and SHA-256 do not use.
func PasswordAlgorithm(v []byte) (uint16, error) {
	if len(v) < 4 {
		return 0, errAttrSize
	}
	n := int(binary.BigEndian.Uint16(v[2:4]))
	if 4+n > len(v) {
		return 0, errAttrSize
	}
	return binary.BigEndian.Uint16(v[0:2]), nil
}

// AddPasswordAlgorithms appends PASSWORD-ALGORITHMS (RFC 8489 §14.11) listing
// algs, each without parameters.
func (m *Message) AddPasswordAlgorithms(algs ...uint16) {
	v := m.grow(AttrPasswordAlgorithms, 4*len(algs))
	for i, a := range algs {
		binary.BigEndian.PutUint16(v[4*i:], a)
		binary.BigEndian.PutUint16(v[4*i+2:], 0)
	}
}

// RequestedTransport decodes REQUESTED-TRANSPORT (RFC 8656 §18.11): the
// protocol number followed by 3 RFFU bytes.
func RequestedTransport(v []byte) (byte, error) {
	if len(v) != 4 {
		return 0, errAttrSize
	}
	return v[0], nil
}

// AddressFamily decodes REQUESTED-ADDRESS-FAMILY or
// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.10, §18.12).
func AddressFamily(v []byte) (byte, error) {
	if len(v) != 4 {
		return 0, errAttrSize
	}
	return v[0], nil
}

// ChannelNumber decodes CHANNEL-NUMBER (RFC 8656 §18.1): the number, then
// 2 RFFU bytes.
func ChannelNumber(v []byte) (uint16, error) {
	if len(v) != 4 {
		return 0, errAttrSize
	}
	return binary.BigEndian.Uint16(v[0:2]), nil
}

// AddChannelNumber appends CHANNEL-NUMBER.
func (m *Message) AddChannelNumber(ch uint16) {
	v := m.grow(AttrChannelNumber, 4)
	binary.BigEndian.PutUint16(v[0:2], ch)
	v[2], v[3] = 0, 0
}

// AddConnectionID appends CONNECTION-ID (RFC 6062 §6.2.1).
func (m *Message) AddConnectionID(id uint32) {
	binary.BigEndian.PutUint32(m.grow(AttrConnectionID, 4), id)
}

// ConnectionID decodes a CONNECTION-ID value (RFC 6062 §6.2.1): exactly
// 4 bytes, an opaque 32-bit number.
func ConnectionID(v []byte) (uint32, error) {
	if len(v) != 4 {
		return 0, errAttrSize
	}
	return binary.BigEndian.Uint32(v), nil
}

// AddRequestedTransport appends REQUESTED-TRANSPORT.
func (m *Message) AddRequestedTransport(proto byte) {
	v := m.grow(AttrRequestedTransport, 4)
	v[0], v[1], v[2], v[3] = proto, 0, 0, 0
}

// AddAddressFamily appends a family attribute such as
// REQUESTED-ADDRESS-FAMILY.
func (m *Message) AddAddressFamily(t AttrType, family byte) {
	v := m.grow(t, 4)
	v[0], v[1], v[2], v[3] = family, 0, 0, 0
}

// AppendXORAddress appends an XOR-encoded address value (no attribute
// header) to dst, for callers that lay out a message in place.
func AppendXORAddress(dst []byte, ap netip.AddrPort, id *TransactionID) []byte {
	ip := ap.Addr().Unmap()
	n := 20
	if ip.Is4() {
		n = 8
	}
	off := len(dst)
	dst = append(dst, make([]byte, n)...)
	putXOR(dst[off:], ip, ap.Port(), id)
	return dst
}

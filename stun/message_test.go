package stun

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestTypeEncoding(t *testing.T) {
	// RFC 8489 §5 Figure 3 and RFC 8656 §17: well-known wire values.
	for _, tc := range []struct {
		typ  Type
		wire uint16
	}{
		{BindingRequest, 0x0001},
		{BindingSuccess, 0x0101},
		{BindingError, 0x0111},
		{Type{MethodAllocate, ClassRequest}, 0x0003},
		{Type{MethodAllocate, ClassSuccess}, 0x0103},
		{Type{MethodAllocate, ClassErrorResponse}, 0x0113},
		{Type{MethodRefresh, ClassRequest}, 0x0004},
		{Type{MethodSend, ClassIndication}, 0x0016},
		{Type{MethodData, ClassIndication}, 0x0017},
		{Type{MethodCreatePermission, ClassRequest}, 0x0008},
		{Type{MethodChannelBind, ClassRequest}, 0x0009},
		{Type{MethodChannelBind, ClassSuccess}, 0x0109},
		// RFC 6062 §6.1.
		{Type{MethodConnect, ClassRequest}, 0x000A},
		{Type{MethodConnect, ClassSuccess}, 0x010A},
		{Type{MethodConnect, ClassErrorResponse}, 0x011A},
		{Type{MethodConnectionBind, ClassRequest}, 0x000B},
		{Type{MethodConnectionBind, ClassSuccess}, 0x010B},
		{Type{MethodConnectionBind, ClassErrorResponse}, 0x011B},
		{Type{MethodConnectionAttempt, ClassIndication}, 0x001C},
		{Type{0xFFF, ClassErrorResponse}, 0x3FFF},
	} {
		if got := tc.typ.Value(); got != tc.wire {
			t.Errorf("%v: value %#04x, want %#04x", tc.typ, got, tc.wire)
		}
		if got := TypeOf(tc.wire); got != tc.typ {
			t.Errorf("%#04x: decoded %v, want %v", tc.wire, got, tc.typ)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	var good Message
	good.Reset(BindingRequest, TransactionID{1, 2, 3})
	good.AddString(AttrSoftware, "abc")
	raw := good.Raw
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), raw...)) }
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short header", raw[:19]},
		{"truncated body", raw[:len(raw)-1]},
		{"first bits", mut(func(b []byte) []byte { b[0] |= 0x80; return b })},
		{"cookie", mut(func(b []byte) []byte { b[4] ^= 1; return b })},
		{"length not multiple of 4", mut(func(b []byte) []byte { b[3] = 6; return b })},
		{"length beyond data", mut(func(b []byte) []byte { b[3] += 4; return b })},
		{"attribute overruns", mut(func(b []byte) []byte { b[23] = 9; return b })},
		{"cut inside attribute", mut(func(b []byte) []byte { b[3] = 4; return b })},
	} {
		var m Message
		if err := m.Decode(tc.in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	var m Message
	if err := m.Decode(append(append([]byte(nil), raw...), "trailing"...)); err != nil {
		t.Errorf("trailing datagram bytes: %v", err)
	}
	if len(m.Raw) != len(raw) {
		t.Errorf("Raw %d bytes, want %d", len(m.Raw), len(raw))
	}
}

func TestIgnoredAfterIntegrity(t *testing.T) {
	var m Message
	m.Reset(Type{MethodAllocate, ClassRequest}, TransactionID{9})
	m.AddUint32(AttrLifetime, 600)
	m.AddIntegrity([]byte("k"))
	m.Add(AttrData, []byte{1, 2, 3, 4}) // RFC 8489 §14.5: ignored
	m.AddFingerprint()
	m.Add(AttrData, []byte{5}) // §14.7: ignored
	var d Message
	if err := d.Decode(m.Raw); err != nil {
		t.Fatal(err)
	}
	if d.Has(AttrData) {
		t.Error("attribute after MESSAGE-INTEGRITY was recorded")
	}
	if err := d.CheckIntegrity([]byte("k")); err != nil {
		t.Error(err)
	}
	if len(d.Attributes) != 3 {
		t.Errorf("%d attributes", len(d.Attributes))
	}
}

func TestRoundTrip(t *testing.T) {
	id := TransactionID{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2, 3, 4, 5, 6}
	key := LongTermKey("user", "realm", "pass")
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("203.0.113.7:1"),
		netip.MustParseAddrPort("[2001:db8::1]:65535"),
		netip.MustParseAddrPort("[::ffff:192.0.2.9]:9"),
	}
	var m Message
	m.Reset(Type{MethodAllocate, ClassErrorResponse}, id)
	m.AddErrorCode(CodeStaleNonce, "")
	m.AddUnknownAttributes([]AttrType{0x0031, 0x0032, 0x0033})
	for _, a := range addrs {
		m.AddXORAddress(AttrXORPeerAddress, a)
		m.AddAddress(AttrMappedAddress, a)
	}
	m.AddChannelNumber(0x4001)
	m.AddRequestedTransport(ProtoUDP)
	m.AddAddressFamily(AttrRequestedAddressFamily, FamilyIPv6)
	m.AddPasswordAlgorithms(PasswordMD5, PasswordSHA256)
	m.AddIntegrity(key[:])
	m.AddIntegritySHA256(key[:])
	m.AddFingerprint()

	var d Message
	if err := d.Decode(m.Raw); err != nil {
		t.Fatal(err)
	}
	if d.Type != m.Type || d.TransactionID != id {
		t.Fatalf("header %v %x", d.Type, d.TransactionID)
	}
	v, _ := d.Get(AttrErrorCode)
	code, reason, err := ErrorCode(v)
	if err != nil || code != 438 || string(reason) != "Stale Nonce" {
		t.Errorf("ERROR-CODE %d %q %v", code, reason, err)
	}
	v, _ = d.Get(AttrUnknownAttributes)
	if u, err := UnknownAttributes(nil, v); err != nil || len(u) != 3 || u[2] != 0x0033 {
		t.Errorf("UNKNOWN-ATTRIBUTES %v %v", u, err)
	}
	var i int
	for _, a := range d.Attributes {
		switch a.Type {
		case AttrXORPeerAddress:
			got, err := XORAddress(a.Value, &d.TransactionID)
			if want := netip.AddrPortFrom(addrs[i].Addr().Unmap(), addrs[i].Port()); err != nil || got != want {
				t.Errorf("XOR address %d: %v %v", i, got, err)
			}
		case AttrMappedAddress:
			got, err := Address(a.Value)
			if want := netip.AddrPortFrom(addrs[i].Addr().Unmap(), addrs[i].Port()); err != nil || got != want {
				t.Errorf("address %d: %v %v", i, got, err)
			}
			i++
		}
	}
	if v, _ := d.Get(AttrChannelNumber); v == nil {
		t.Error("no CHANNEL-NUMBER")
	} else if ch, _ := ChannelNumber(v); ch != 0x4001 {
		t.Errorf("channel %x", ch)
	}
	if v, _ := d.Get(AttrRequestedTransport); v == nil {
		t.Error("no REQUESTED-TRANSPORT")
	} else if p, _ := RequestedTransport(v); p != ProtoUDP {
		t.Errorf("transport %d", p)
	}
	if err := d.CheckIntegrity(key[:]); err != nil {
		t.Error(err)
	}
	if err := d.CheckIntegritySHA256(key[:]); err != nil {
		t.Error(err)
	}
	if err := d.CheckFingerprint(); err != nil {
		t.Error(err)
	}
	// Any flipped bit before FINGERPRINT breaks all three checks.
	flipped := append([]byte(nil), m.Raw...)
	flipped[HeaderSize+6] ^= 1
	if err := d.Decode(flipped); err != nil {
		t.Fatal(err)
	}
	if d.CheckIntegrity(key[:]) == nil || d.CheckIntegritySHA256(key[:]) == nil || d.CheckFingerprint() == nil {
		t.Error("flipped bit not detected")
	}
}

func TestIntegrityLongKey(t *testing.T) {
	// Keys longer than the hash block are hashed first (RFC 2104 §2).
	key := bytes.Repeat([]byte("k"), 100)
	var m Message
	m.Reset(BindingRequest, TransactionID{})
	m.AddIntegrity(key)
	var d Message
	if err := d.Decode(m.Raw); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckIntegrity(key); err != nil {
		t.Fatal(err)
	}
}

func TestChannelData(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []byte
		ch     uint16
		data   string
		wantOK bool
	}{
		{"udp", AppendChannelData(nil, 0x4001, []byte("hello"), false), 0x4001, "hello", true},
		{"tcp padded", AppendChannelData(nil, 0x4FFF, []byte("hello"), true), 0x4FFF, "hello", true},
		{"empty", AppendChannelData(nil, 0x4000, nil, true), 0x4000, "", true},
		{"truncated", []byte{0x40, 0x01, 0x00, 0x05, 'h'}, 0, "", false},
		{"rfc 5766 channel", []byte{0x7F, 0xFF, 0x00, 0x00}, 0x7FFF, "", true},
		{"reserved channel", []byte{0x80, 0x00, 0x00, 0x00}, 0, "", false},
		{"short", []byte{0x40, 0x00}, 0, "", false},
	} {
		ch, data, err := ParseChannelData(tc.in)
		if (err == nil) != tc.wantOK || ch != tc.ch || string(data) != tc.data {
			t.Errorf("%s: %x %q %v", tc.name, ch, data, err)
		}
	}
	if n := len(AppendChannelData(nil, 0x4000, []byte("hello"), true)); n != 12 {
		t.Errorf("padded length %d", n)
	}
}

func TestFrameLength(t *testing.T) {
	var m Message
	m.Reset(BindingRequest, TransactionID{})
	m.AddString(AttrSoftware, "x")
	for _, tc := range []struct {
		name    string
		in      []byte
		want    int
		wantErr bool
	}{
		{"stun", m.Raw, 28, false},
		{"need more", m.Raw[:3], 0, false},
		{"channel padded", []byte{0x40, 0, 0, 5}, 12, false},
		{"channel aligned", []byte{0x40, 0, 0, 8}, 12, false},
		{"garbage", []byte{0x80, 0, 0, 0}, 0, true},
		{"stun odd length", []byte{0, 1, 0, 2}, 0, true},
	} {
		n, err := FrameLength(tc.in)
		if n != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: %d %v", tc.name, n, err)
		}
	}
}

func TestErrorType(t *testing.T) {
	err := error(&Error{Code: CodeAllocationQuotaReached})
	if CodeOf(err) != 486 || CodeOf(errors.New("x")) != 0 {
		t.Fatal("CodeOf")
	}
	if err.Error() != "stun: error 486 Allocation Quota Reached" {
		t.Fatal(err.Error())
	}
}

// RFC 6062 §6: the TCP allocation methods, CONNECTION-ID and the two new
// error codes.
func TestRFC6062(t *testing.T) {
	for _, tc := range []struct {
		m    Method
		name string
	}{
		{MethodConnect, "Connect"},
		{MethodConnectionBind, "ConnectionBind"},
		{MethodConnectionAttempt, "ConnectionAttempt"},
		{0x00D, "Method(0x000d)"},
	} {
		if got := tc.m.String(); got != tc.name {
			t.Errorf("%#x: %q, want %q", uint16(tc.m), got, tc.name)
		}
	}
	for _, tc := range []struct {
		code   int
		reason string
	}{
		{CodeConnectionAlreadyExists, "Connection Already Exists"},
		{CodeConnectionTimeoutOrFailure, "Connection Timeout or Failure"},
	} {
		if got := ReasonPhrase(tc.code); got != tc.reason {
			t.Errorf("%d: %q, want %q", tc.code, got, tc.reason)
		}
		var m Message
		m.Reset(Type{MethodConnect, ClassErrorResponse}, TransactionID{1})
		m.AddErrorCode(tc.code, "")
		var d Message
		if err := d.Decode(m.Raw); err != nil {
			t.Fatal(err)
		}
		v, _ := d.Get(AttrErrorCode)
		if code, reason, err := ErrorCode(v); err != nil || code != tc.code || string(reason) != tc.reason {
			t.Errorf("ERROR-CODE %d %q %v, want %d", code, reason, err, tc.code)
		}
	}
	for _, tc := range []struct {
		name    string
		value   []byte
		want    uint32
		wantErr bool
	}{
		{"zero", []byte{0, 0, 0, 0}, 0, false},
		{"big endian", []byte{0x12, 0x34, 0x56, 0x78}, 0x12345678, false},
		{"max", []byte{0xff, 0xff, 0xff, 0xff}, 0xffffffff, false},
		{"empty", nil, 0, true},
		{"short", []byte{1, 2, 3}, 0, true},
		{"long", []byte{1, 2, 3, 4, 5}, 0, true},
	} {
		got, err := ConnectionID(tc.value)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: %#x %v", tc.name, got, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v is not ErrMalformed", tc.name, err)
		}
	}
	// A ConnectionAttempt indication as a server sends it, and back.
	peer := netip.MustParseAddrPort("[2001:db8::5]:443")
	var m Message
	m.Reset(Type{MethodConnectionAttempt, ClassIndication}, TransactionID{9, 8, 7})
	m.AddConnectionID(0xdeadbeef)
	m.AddXORAddress(AttrXORPeerAddress, peer)
	wire := []byte{0x00, 0x2a, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef}
	if !bytes.Equal(m.Raw[HeaderSize:HeaderSize+8], wire) {
		t.Fatalf("CONNECTION-ID on the wire % x, want % x", m.Raw[HeaderSize:HeaderSize+8], wire)
	}
	var d Message
	if err := d.Decode(m.Raw); err != nil {
		t.Fatal(err)
	}
	v, ok := d.Get(AttrConnectionID)
	if id, err := ConnectionID(v); !ok || err != nil || id != 0xdeadbeef {
		t.Errorf("CONNECTION-ID %#x %v", id, err)
	}
	if got, err := d.GetXORAddress(AttrXORPeerAddress); err != nil || got != peer {
		t.Errorf("XOR-PEER-ADDRESS %v %v", got, err)
	}
	if !AttrConnectionID.Required() {
		t.Error("CONNECTION-ID is comprehension-required (RFC 6062 §6.2)")
	}
}

package stun

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// Test vectors from RFC 5769 (Copyright (c) 2010 IETF Trust and the persons
// identified as the document authors; Simplified BSD License). The SOFTWARE
// and USERNAME padding bytes in §2.1-2.3 are 0x20, as the RFC prints them.
const (
	rfc5769Request = `00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
		80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
		00 24 00 04 6e 00 01 ff
		80 29 00 08 93 2f f9 b1 51 26 3b 36
		00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
		00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
		80 28 00 04 e5 7a 3b cf`
	rfc5769IPv4 = `01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
		80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
		00 20 00 08 00 01 a1 47 e1 12 a6 43
		00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
		80 28 00 04 c0 7d 4c 96`
	rfc5769IPv6 = `01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
		80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
		00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
		00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
		80 28 00 04 c8 fb 0b 4c`
	rfc5769LongTerm = `00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
		00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
		00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
		00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
		00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66`
	shortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 5769 §2.1.
func TestRFC5769Request(t *testing.T) {
	var m Message
	if err := m.Decode(unhex(t, rfc5769Request)); err != nil {
		t.Fatal(err)
	}
	if m.Type != BindingRequest {
		t.Fatalf("type %v", m.Type)
	}
	if v, _ := m.Get(AttrSoftware); string(v) != "STUN test client" {
		t.Errorf("SOFTWARE %q", v)
	}
	if v, _ := m.Get(AttrUsername); string(v) != "evtj:h6vY" {
		t.Errorf("USERNAME %q", v)
	}
	if p, err := m.GetUint32(0x0024); err != nil || p != 0x6e0001ff {
		t.Errorf("PRIORITY %x %v", p, err)
	}
	if err := m.CheckIntegrity([]byte(shortTermPassword)); err != nil {
		t.Errorf("integrity: %v", err)
	}
	if err := m.CheckIntegrity([]byte("wrong")); !errors.Is(err, ErrIntegrity) {
		t.Errorf("wrong key: %v", err)
	}
	if err := m.CheckFingerprint(); err != nil {
		t.Errorf("fingerprint: %v", err)
	}
}

// RFC 5769 §2.2 and §2.3, decoded and re-encoded byte for byte.
func TestRFC5769Responses(t *testing.T) {
	for _, tc := range []struct {
		name, vector string
		want         netip.AddrPort
	}{
		{"ipv4", rfc5769IPv4, netip.MustParseAddrPort("192.0.2.1:32853")},
		{"ipv6", rfc5769IPv6, netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := unhex(t, tc.vector)
			var m Message
			if err := m.Decode(raw); err != nil {
				t.Fatal(err)
			}
			if m.Type != BindingSuccess {
				t.Fatalf("type %v", m.Type)
			}
			got, err := m.GetXORAddress(AttrXORMappedAddress)
			if err != nil || got != tc.want {
				t.Fatalf("XOR-MAPPED-ADDRESS %v %v", got, err)
			}
			if err := m.CheckIntegrity([]byte(shortTermPassword)); err != nil {
				t.Errorf("integrity: %v", err)
			}
			if err := m.CheckFingerprint(); err != nil {
				t.Errorf("fingerprint: %v", err)
			}
			var out Message
			out.Reset(BindingSuccess, m.TransactionID)
			out.AddString(AttrSoftware, "test vector")
			// The RFC pads SOFTWARE with a space, which is covered by the MAC.
			out.Raw[HeaderSize+4+11] = 0x20
			out.AddXORAddress(AttrXORMappedAddress, tc.want)
			out.AddIntegrity([]byte(shortTermPassword))
			out.AddFingerprint()
			if string(out.Raw) != string(raw) {
				t.Errorf("re-encoded\n got %x\nwant %x", out.Raw, raw)
			}
		})
	}
}

// RFC 5769 §2.4: long-term credentials; the key is MD5 of the SASLprep'd
// "username:realm:password", with password "TheMatrIX".
func TestRFC5769LongTerm(t *testing.T) {
	raw := unhex(t, rfc5769LongTerm)
	var m Message
	if err := m.Decode(raw); err != nil {
		t.Fatal(err)
	}
	user, _ := m.Get(AttrUsername)
	realm, _ := m.Get(AttrRealm)
	nonce, _ := m.Get(AttrNonce)
	if string(user) != "マトリックス" || string(realm) != "example.org" || string(nonce) != "f//499k954d6OL34oL9FSTvy64sA" {
		t.Fatalf("attributes %q %q %q", user, realm, nonce)
	}
	key := LongTermKey(string(user), string(realm), "TheMatrIX")
	if err := m.CheckIntegrity(key[:]); err != nil {
		t.Fatalf("integrity: %v", err)
	}
	bad := LongTermKey(string(user), string(realm), "thematrix")
	if err := m.CheckIntegrity(bad[:]); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("wrong password accepted: %v", err)
	}
	if err := m.CheckFingerprint(); !errors.Is(err, ErrNoAttribute) {
		t.Fatalf("fingerprint: %v", err)
	}
	var out Message
	out.Reset(BindingRequest, m.TransactionID)
	out.AddString(AttrUsername, string(user))
	out.AddString(AttrNonce, string(nonce))
	out.AddString(AttrRealm, string(realm))
	out.AddIntegrity(key[:])
	if string(out.Raw) != string(raw) {
		t.Errorf("re-encoded\n got %x\nwant %x", out.Raw, raw)
	}
}

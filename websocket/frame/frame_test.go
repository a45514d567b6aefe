package frame

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestParseHeaderTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want Header
		n    int
		err  error
	}{
		{"short", []byte{0x81}, Header{}, 0, ErrShort},
		{"text 5 masked", []byte{0x81, 0x85, 1, 2, 3, 4}, Header{Fin: true, Op: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: 5}, 6, nil},
		{"binary 126", []byte{0x82, 126, 0, 126}, Header{Fin: true, Op: OpBinary, Length: 126}, 4, nil},
		{"16-bit not minimal", []byte{0x82, 126, 0, 125}, Header{}, 0, ErrLengthEncoding},
		{"64-bit", []byte{0x02, 127, 0, 0, 0, 0, 0, 1, 0, 0}, Header{Op: OpBinary, Length: 65536}, 10, nil},
		{"64-bit not minimal", []byte{0x02, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, Header{}, 0, ErrLengthEncoding},
		{"64-bit msb", []byte{0x02, 127, 0x80, 0, 0, 0, 0, 1, 0, 0}, Header{}, 0, ErrLengthEncoding},
		{"ping 126", []byte{0x89, 126, 0, 126}, Header{}, 0, ErrControlTooLong},
		{"fragmented ping", []byte{0x09, 0}, Header{}, 0, ErrControlFragment},
		{"rsv bits kept", []byte{0xf1, 0}, Header{Fin: true, Rsv1: true, Rsv2: true, Rsv3: true, Op: OpText}, 2, nil},
		{"mask short", []byte{0x81, 0x80, 1, 2}, Header{}, 0, ErrShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.in)
			if err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && (h != tc.want || n != tc.n) {
				t.Fatalf("got %+v n=%d, want %+v n=%d", h, n, tc.want, tc.n)
			}
		})
	}
}

func TestAppendParseRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 125, 126, 65535, 65536, 1 << 40} {
		for _, masked := range []bool{false, true} {
			h := Header{Fin: true, Op: OpBinary, Masked: masked, Length: n}
			if masked {
				h.Mask = [4]byte{9, 8, 7, 6}
			}
			b := AppendHeader(nil, h)
			if len(b) != HeaderSize(int(n), masked) {
				t.Fatalf("size %d, HeaderSize %d", len(b), HeaderSize(int(n), masked))
			}
			got, m, err := ParseHeader(b)
			if err != nil || got != h || m != len(b) {
				t.Fatalf("round trip %+v: got %+v %d %v", h, got, m, err)
			}
		}
	}
}

func TestMaskPositions(t *testing.T) {
	key := [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	p := bytes.Repeat([]byte("0123456789abcdef"), 10)
	want := append([]byte(nil), p...)
	for i := range want {
		want[i] ^= key[i%4]
	}
	for split := 0; split <= len(p); split += 7 {
		got := append([]byte(nil), p...)
		pos := Mask(key, 0, got[:split])
		Mask(key, pos, got[split:])
		if !bytes.Equal(got, want) {
			t.Fatalf("split %d: mismatch", split)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	for code, ok := range map[uint16]bool{999: false, 1000: true, 1003: true, 1004: false, 1005: false, 1006: false, 1007: true, 1014: true, 1015: false, 1016: false, 2999: false, 3000: true, 4999: true, 5000: false} {
		if ValidCloseCode(code) != ok {
			t.Errorf("ValidCloseCode(%d) = %v", code, !ok)
		}
	}
	if _, _, err := ParseClose([]byte{1}); err != ErrCloseLength {
		t.Fatalf("1-byte close: %v", err)
	}
	if code, _, err := ParseClose(nil); err != nil || code != CloseNoStatus {
		t.Fatalf("empty close: %d %v", code, err)
	}
	long := AppendClosePayload(nil, 1000, string(bytes.Repeat([]byte("é"), 100)))
	if len(long) > MaxControlPayload || !utf8.Valid(long[2:]) {
		t.Fatalf("AppendClosePayload: len %d valid %v", len(long), utf8.Valid(long[2:]))
	}
}

func TestUTF8Incremental(t *testing.T) {
	cases := []string{"", "ascii only text here", "κόσμε", "\U0010FFFF\u0800", "\xed\x9f\xbf", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xe2\x82", "\xf0\x9f\x98", "\xe0\x80\xaf", "\x80"}
	for _, s := range cases {
		for split1 := 0; split1 <= len(s); split1++ {
			for split2 := split1; split2 <= len(s); split2++ {
				var v UTF8
				ok := v.Write([]byte(s[:split1])) && v.Write([]byte(s[split1:split2])) && v.Write([]byte(s[split2:])) && v.Done()
				if ok != utf8.ValidString(s) {
					t.Fatalf("%q split %d/%d: got %v", s, split1, split2, ok)
				}
			}
		}
	}
}

func TestParseHeaderNoAllocs(t *testing.T) {
	b := []byte{0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4}
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ParseHeader(b) }); n != 0 {
		t.Fatalf("ParseHeader allocates %v", n)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4})
	f.Add([]byte{0x02, 127, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{0x89, 126, 0, 126})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err != nil {
			return
		}
		if n > len(b) || n > MaxHeaderSize {
			t.Fatalf("n=%d len=%d", n, len(b))
		}
		enc := AppendHeader(nil, h)
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding %+v: %x, want %x", h, enc, b[:n])
		}
	})
}

func FuzzUTF8(f *testing.F) {
	f.Add([]byte("κόσμε"), uint8(3))
	f.Add([]byte("\xed\xa0\x80"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		s := int(split)
		if s > len(b) {
			s = len(b)
		}
		var v UTF8
		ok := v.Write(b[:s]) && v.Write(b[s:]) && v.Done()
		if ok != utf8.Valid(b) {
			t.Fatalf("%x split %d: incremental %v, utf8.Valid %v", b, s, ok, !ok)
		}
	})
}

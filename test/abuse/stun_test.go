package abuse

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

const magic = 0x2112A442

// stunMsg builds a STUN message of type typ with raw attributes (already
// padded) and a fresh transaction id; length is the header's length field
// unless negative (then the real length).
func stunMsg(typ uint16, attrs []byte, length int) (msg []byte, tid [12]byte) {
	_, _ = rand.Read(tid[:])
	if length < 0 {
		length = len(attrs)
	}
	msg = binary.BigEndian.AppendUint16(nil, typ)
	msg = binary.BigEndian.AppendUint16(msg, uint16(length))
	msg = binary.BigEndian.AppendUint32(msg, magic)
	msg = append(msg, tid[:]...)
	return append(msg, attrs...), tid
}

func attr(typ uint16, v []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// stunAnswer is a parsed response: type and error code (0 for success).
type stunAnswer struct {
	typ     uint16
	code    int
	unknown []uint16 // UNKNOWN-ATTRIBUTES
	attrs   map[uint16]bool
}

func parseSTUN(t *testing.T, b []byte, tid [12]byte) stunAnswer {
	t.Helper()
	if len(b) < 20 || binary.BigEndian.Uint32(b[4:]) != magic || string(b[8:20]) != string(tid[:]) {
		t.Fatalf("not a response to our request: %x", b)
	}
	a := stunAnswer{typ: binary.BigEndian.Uint16(b), attrs: map[uint16]bool{}}
	rest := b[20:]
	for len(rest) >= 4 {
		at, n := binary.BigEndian.Uint16(rest), int(binary.BigEndian.Uint16(rest[2:]))
		if 4+n > len(rest) {
			t.Fatalf("truncated attribute in %x", b)
		}
		v := rest[4 : 4+n]
		a.attrs[at] = true
		switch at {
		case 0x0009:
			a.code = int(v[2]&7)*100 + int(v[3])
		case 0x000A:
			for i := 0; i+1 < len(v); i += 2 {
				a.unknown = append(a.unknown, binary.BigEndian.Uint16(v[i:]))
			}
		}
		rest = rest[(4+n+3)&^3:]
	}
	return a
}

// TestMalformedSTUN sends malformed STUN to the TURN port over UDP and TCP.
// RFC 8489 §6.3: what is not a well-formed STUN message is discarded
// silently; a request with an unknown comprehension-required attribute gets
// 420 with UNKNOWN-ATTRIBUTES; TURN requests without credentials get 401
// (RFC 8656 §7.2 via RFC 8489 §9.2). The server keeps answering Binding
// requests throughout.
func TestMalformedSTUN(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	uc, err := net.Dial("udp", s.turn)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	exchange := func(msg []byte) []byte { // one datagram, the answer or nil after 500 ms
		_, _ = uc.Write(msg)
		_ = uc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 2048)
		n, err := uc.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	binding := func(transport string) {
		t.Helper()
		m, tid := stunMsg(0x0001, nil, -1)
		var b []byte
		// UDP: retransmit (RFC 8489 §6.2.1); at start-up the UDP socket may
		// open a moment after the HTTP listener (ICMP unreachable meanwhile).
		for deadline := time.Now().Add(probeTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if b = exchange(m); b != nil {
				break
			}
		}
		if b == nil {
			t.Fatalf("%s: no answer to a Binding request", transport)
		}
		if a := parseSTUN(t, b, tid); a.typ != 0x0101 {
			t.Fatalf("%s: Binding answered with %#x", transport, a.typ)
		}
	}
	binding("before")

	silent := []struct {
		name string
		msg  []byte
	}{
		{"one byte", []byte{0}},
		{"19 bytes", make([]byte, 19)},
		{"top bits set (not STUN)", append([]byte{0xff, 0xff}, make([]byte, 18)...)},
		{"wrong magic cookie", func() []byte { m, _ := stunMsg(0x0001, nil, -1); m[4] = 0; return m }()},
		{"length not a multiple of 4", func() []byte { m, _ := stunMsg(0x0001, []byte{0, 0, 0, 0}, 3); return m }()},
		{"length beyond the datagram", func() []byte { m, _ := stunMsg(0x0001, nil, 400); return m }()},
		{"attribute beyond the message", func() []byte { m, _ := stunMsg(0x0001, []byte{0x80, 0x22, 0x01, 0x00}, -1); return m }()},
		{"bad FINGERPRINT", func() []byte { m, _ := stunMsg(0x0001, attr(0x8028, []byte{1, 2, 3, 4}), -1); return m }()},
		{"a success response", func() []byte { m, _ := stunMsg(0x0101, nil, -1); return m }()},
		{"an indication of an unknown method", func() []byte { m, _ := stunMsg(0x0011|0x0010, nil, -1); return m }()},
		{"ChannelData on an unbound channel", []byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4}},
		{"ChannelData longer than its datagram", []byte{0x40, 0x00, 0xff, 0xff, 1, 2, 3, 4}},
		{"60 KB of zeros", make([]byte, 60_000)},
	}
	for _, tc := range silent {
		if b := exchange(tc.msg); b != nil {
			t.Errorf("UDP %s: answered %x, want silence", tc.name, b[:min(len(b), 40)])
		}
	}

	answered := []struct {
		name string
		typ  uint16
		attr []byte
		want uint16 // response type
		code int
	}{
		{"unknown comprehension-required attribute", 0x0001, attr(0x7ff0, []byte{1}), 0x0111, 420},
		{"unknown comprehension-optional attribute", 0x0001, attr(0xc0ff, []byte{1}), 0x0101, 0},
		{"Allocate without credentials", 0x0003, attr(0x0019, []byte{17, 0, 0, 0}), 0x0113, 401},
		{"Allocate with a bogus MESSAGE-INTEGRITY", 0x0003, append(append(attr(0x0006, []byte("mallory")), attr(0x0014, []byte("r"))...), attr(0x0008, make([]byte, 20))...), 0x0113, 0},
		{"Refresh without credentials", 0x0004, nil, 0x0114, 401},
		// An unknown method is refused: 400, or first the 401 challenge,
		// since this server authenticates every request but Binding.
		{"unknown request method", 0x0eef, nil, 0x0fff, -1},
	}
	for _, tc := range answered {
		m, tid := stunMsg(tc.typ, tc.attr, -1)
		b := exchange(m)
		if b == nil {
			t.Errorf("UDP %s: no answer", tc.name)
			continue
		}
		a := parseSTUN(t, b, tid)
		if tc.code == -1 && (a.code == 400 || a.code == 401) {
			a.code = -1
		}
		if a.typ != tc.want || (tc.code != 0 && a.code != tc.code) {
			t.Errorf("UDP %s: answered %#x code %d, want %#x code %d", tc.name, a.typ, a.code, tc.want, tc.code)
		}
		if tc.code == 420 && (len(a.unknown) != 1 || a.unknown[0] != 0x7ff0) {
			t.Errorf("UDP %s: UNKNOWN-ATTRIBUTES %x", tc.name, a.unknown)
		}
		if tc.code == 401 && (!a.attrs[0x0014] || !a.attrs[0x0015]) {
			t.Errorf("UDP %s: 401 without REALM and NONCE", tc.name)
		}
	}

	// A flood of garbage datagrams, bounded.
	junk := make([]byte, 1200)
	for i := range 5_000 {
		_, _ = rand.Read(junk[:64])
		junk[0] = byte(i) // every first byte, STUN and ChannelData lookalikes included
		_, _ = uc.Write(junk)
	}
	binding("after 5,000 garbage datagrams")

	// TCP (RFC 8489 §6.2.2: STUN messages back to back, framed by their
	// length).
	tcp := func() net.Conn {
		c, err := net.DialTimeout("tcp", s.turn, probeTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	readResp := func(c net.Conn, tid [12]byte) (stunAnswer, bool) {
		_ = c.SetReadDeadline(time.Now().Add(probeTimeout))
		hdr := make([]byte, 20)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return stunAnswer{}, false
		}
		body := make([]byte, binary.BigEndian.Uint16(hdr[2:]))
		if _, err := io.ReadFull(c, body); err != nil {
			return stunAnswer{}, false
		}
		return parseSTUN(t, append(hdr, body...), tid), true
	}
	t.Run("TCP byte by byte", func(t *testing.T) {
		c := tcp()
		m, tid := stunMsg(0x0001, nil, -1)
		for _, b := range m {
			_, _ = c.Write([]byte{b})
			time.Sleep(time.Millisecond)
		}
		if a, ok := readResp(c, tid); !ok || a.typ != 0x0101 {
			t.Errorf("Binding written a byte at a time: %#x %v", a.typ, ok)
		}
	})
	t.Run("TCP pipelined", func(t *testing.T) {
		c := tcp()
		m1, t1 := stunMsg(0x0001, nil, -1)
		m2, t2 := stunMsg(0x0001, attr(0x7ff0, []byte{1}), -1)
		_, _ = c.Write(append(m1, m2...))
		if a, ok := readResp(c, t1); !ok || a.typ != 0x0101 {
			t.Errorf("first: %#x %v", a.typ, ok)
		}
		if a, ok := readResp(c, t2); !ok || a.code != 420 {
			t.Errorf("second: %#x %d %v", a.typ, a.code, ok)
		}
	})
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"TCP garbage", append([]byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 60)...)},
		{"TCP wrong magic cookie", func() []byte { m, _ := stunMsg(0x0001, nil, -1); m[4] = 0; return m }()},
		{"TCP attribute beyond the message", func() []byte { m, _ := stunMsg(0x0001, []byte{0x80, 0x22, 0x01, 0x00}, -1); return m }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tcp()
			_, _ = c.Write(tc.msg)
			// The stream cannot be resynchronised after a framing error:
			// the server closes it without answering, or ignores the
			// message and keeps serving the connection.
			m, tid := stunMsg(0x0001, nil, -1)
			_, _ = c.Write(m)
			if a, ok := readResp(c, tid); ok {
				if a.typ != 0x0101 {
					t.Errorf("answered %#x", a.typ)
				}
				t.Logf("%s: ignored, connection kept", tc.name)
			} else {
				t.Logf("%s: connection closed", tc.name)
			}
		})
	}
	t.Run("TCP header promising 65,532 bytes, then a hang-up", func(t *testing.T) {
		c := tcp()
		m, _ := stunMsg(0x0001, make([]byte, 100), 65532)
		_, _ = c.Write(m)
		c.Close()
	})
	s.alive(t)
	binding("after TCP abuse")
	mustProbe(t, s, "after STUN abuse")
}

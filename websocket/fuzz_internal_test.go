package websocket

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/websocket/frame"
)

type nopDriver struct{}

func (nopDriver) schedule(*Conn)    {}
func (nopDriver) urgent(*Conn) bool { return false }
func (nopDriver) abort(*Conn)       {}

type countHandler struct{ msgs int }

func (h *countHandler) OnOpen(*Conn) {}
func (h *countHandler) OnMessage(_ *Conn, typ MessageType, data []byte) {
	if typ != TextMessage && typ != BinaryMessage {
		panic("bad message type")
	}
	h.msgs++
}
func (h *countHandler) OnClose(*Conn, error) {}

func fuzzConn(deflate bool) *Conn {
	cfg := Config{MaxMessageSize: 1 << 16, CompressionThreshold: 1}.withDefaults()
	c := &Conn{cfg: &cfg, fd: -1, drv: nopDriver{}, deflate: deflate, st: stOpen}
	c.h = &countHandler{}
	return c
}

// FuzzFeed feeds arbitrary client bytes, split at an arbitrary point, to
// the server-side parser. It must never panic, and every error must carry a
// close code.
func FuzzFeed(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	f.Add(frame.AppendMaskedFrame(nil, frame.OpText, true, false, key, []byte("hello")), uint16(3), false)
	f.Add(append(frame.AppendMaskedFrame(nil, frame.OpText, false, false, key, []byte("he")),
		frame.AppendMaskedFrame(nil, frame.OpContinuation, true, false, key, []byte("llo"))...), uint16(9), false)
	f.Add(frame.AppendMaskedFrame(nil, frame.OpPing, true, false, key, []byte("p")), uint16(1), false)
	f.Add(frame.AppendMaskedFrame(nil, frame.OpClose, true, false, key, []byte{3, 232}), uint16(0), false)
	f.Add(frame.AppendMaskedFrame(nil, frame.OpBinary, true, true, key, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), uint16(4), true)
	f.Fuzz(func(t *testing.T, b []byte, split uint16, deflate bool) {
		c := fuzzConn(deflate)
		s := int(split)
		if s > len(b) {
			s = len(b)
		}
		for _, part := range [][]byte{b[:s], b[s:]} {
			if c.rd.discard {
				break
			}
			if err := c.feed(part); err != nil {
				var pe *protoError
				if !errors.As(err, &pe) || !frame.ValidCloseCode(uint16(pe.code)) {
					t.Fatalf("error without a valid close code: %v", err)
				}
				c.fail(err)
			}
		}
		c.rd.release()
	})
}

// FuzzHandshake runs the loop's request parser, the handshake checks and
// the extension negotiation on arbitrary bytes.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"10\", foo\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := parseRequest(b)
		if err != nil || r == nil {
			return
		}
		if n > len(b) {
			t.Fatalf("head length %d beyond input %d", n, len(b))
		}
		u, err := checkHandshake(r)
		if err != nil {
			var he *handshakeError
			if !errors.As(err, &he) || he.status < 400 {
				t.Fatalf("handshake error without a status: %v", err)
			}
			return
		}
		if resp, p, ok := negotiateDeflate(u.extensions); ok {
			if p.serverMaxWindowBits != 0 && (p.serverMaxWindowBits < 8 || p.serverMaxWindowBits > 15) {
				t.Fatalf("accepted window bits %d", p.serverMaxWindowBits)
			}
			if len(parseExtensions([]string{resp})) != 1 {
				t.Fatalf("our response %q does not parse", resp)
			}
		}
		_ = appendResponse(nil, u.key, "", "")
	})
}

func TestNegotiateDeflate(t *testing.T) {
	for _, tc := range []struct {
		offer string
		ok    bool
		bits  int
	}{
		{"permessage-deflate", true, 0},
		{"permessage-deflate; client_max_window_bits", true, 0},
		{"permessage-deflate; server_max_window_bits=10", true, 10},
		{"permessage-deflate; server_max_window_bits=\"12\"", true, 12},
		{"permessage-deflate; server_max_window_bits", false, 0},
		{"permessage-deflate; server_max_window_bits=7", false, 0},
		{"permessage-deflate; server_max_window_bits=16", false, 0},
		{"permessage-deflate; server_max_window_bits=010", false, 0},
		{"permessage-deflate; client_max_window_bits=8; client_max_window_bits=9", false, 0},
		{"permessage-deflate; server_no_context_takeover=1", false, 0},
		{"permessage-deflate; unknown", false, 0},
		{"permessage-deflate; unknown, permessage-deflate; server_max_window_bits=9", true, 9},
		{"deflate-frame", false, 0},
	} {
		_, p, ok := negotiateDeflate([]string{tc.offer})
		if ok != tc.ok || p.serverMaxWindowBits != tc.bits {
			t.Errorf("%q: ok=%v bits=%d, want ok=%v bits=%d", tc.offer, ok, p.serverMaxWindowBits, tc.ok, tc.bits)
		}
	}
}

func TestAcceptKeyRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptKey = %q", got)
	}
}

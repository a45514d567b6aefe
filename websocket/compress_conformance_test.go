package websocket_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/switchboard/switchboard/websocket/frame"
)

// deflateMsg compresses p as a permessage-deflate payload (RFC 7692 §7.2.1).
func deflateMsg(t *testing.T, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	_, _ = w.Write(p)
	_ = w.Flush()
	out := b.Bytes()
	return out[:len(out)-4]
}

func inflateMsg(t *testing.T, p []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflate server message: %v", err)
	}
	return out
}

// Autobahn 12.x/13.x: compressed echo under each offer the suite makes.
func TestAutobahn12And13Compression(t *testing.T) {
	addr := conformanceServer(t)
	offers := []struct {
		offer, wantInResponse string
	}{
		{"permessage-deflate", "server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate; client_max_window_bits", "client_no_context_takeover"},
		{"permessage-deflate; client_no_context_takeover; server_no_context_takeover", "server_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=9", "server_max_window_bits=9"},
		{"permessage-deflate; server_max_window_bits=15; client_max_window_bits=8", "server_max_window_bits=15"},
		{"permessage-deflate; server_max_window_bits=16, permessage-deflate", "permessage-deflate; server_no_context_takeover"},
		{"x-webkit-deflate-frame, permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=10", "permessage-deflate"},
	}
	payloads := [][]byte{
		[]byte("Hello, compressed world! Hello, compressed world!"),
		bytes.Repeat([]byte("abcdefghij"), 10000),
		[]byte(strings.Repeat("κόσμε ", 3000)),
	}
	for _, o := range offers {
		t.Run(o.offer, func(t *testing.T) {
			c := dialRaw(t, addr, "/echo", "Sec-WebSocket-Extensions: "+o.offer+"\r\n")
			if !strings.Contains(c.resp, o.wantInResponse) {
				t.Fatalf("response %q lacks %q", c.resp, o.wantInResponse)
			}
			for _, p := range payloads {
				c.send(frame.OpText, true, 4, deflateMsg(t, p))
				m, err := c.next()
				if err != nil {
					t.Fatal(err)
				}
				got := m.payload
				if m.rsv1 {
					got = inflateMsg(t, got)
				}
				if m.op != frame.OpText || !bytes.Equal(got, p) {
					t.Fatalf("echo mismatch: op %v len %d want len %d", m.op, len(got), len(p))
				}
				if len(p) > 1000 && !m.rsv1 {
					t.Fatalf("large compressible echo was not compressed")
				}
			}
			// A compressed message split over fragments.
			z := deflateMsg(t, payloads[1])
			c.send(frame.OpBinary, false, 4, z[:len(z)/2])
			c.send(frame.OpContinuation, true, 0, z[len(z)/2:])
			m, err := c.next()
			if err != nil {
				t.Fatal(err)
			}
			if got := inflateMsg(t, m.payload); !bytes.Equal(got, payloads[1]) {
				t.Fatalf("fragmented compressed echo mismatch")
			}
		})
	}
	t.Run("rsv1 on continuation", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		c.send(frame.OpText, false, 4, deflateMsg(t, []byte("a")))
		c.send(frame.OpContinuation, true, 4, nil)
		c.expectClose(1002)
	})
	t.Run("bomb over the limit", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		c.send(frame.OpBinary, true, 4, deflateMsg(t, make([]byte, 4<<20)))
		c.expectClose(1009)
	})
	t.Run("garbage compressed data", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		c.send(frame.OpBinary, true, 4, []byte{0xff, 0xff, 0xff, 0xff, 0xff})
		c.expectClose(1007)
	})
	t.Run("compressed invalid utf8", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		c.send(frame.OpText, true, 4, deflateMsg(t, []byte("ok\xff")))
		c.expectClose(1007)
	})
}

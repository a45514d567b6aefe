package abuse

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// wsCase is bytes sent on a fresh WebSocket and the Close code the server
// must answer with (RFC 6455 §7.4.1).
type wsCase struct {
	name string
	path string // default /echo
	send [][]byte
	want int
}

func runWSCases(t *testing.T, s *server, cases []wsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/echo"
			}
			c, br := rawWS(t, s.addr, path)
			if path != "/echo" {
				// Let the endpoint's own greeting (Engine.IO's open packet)
				// arrive first; it is skipped by readClose.
				time.Sleep(20 * time.Millisecond)
			}
			for _, b := range tc.send {
				if _, err := c.Write(b); err != nil {
					break // the server may close before everything is sent
				}
			}
			t0 := time.Now()
			got := readClose(c, br, probeTimeout)
			if got != tc.want {
				t.Errorf("close code %d, want %d", got, tc.want)
			}
			// After its Close the server closes TCP (§7.1.1), at the latest
			// when its close timeout ends.
			if !closedByPeer(c, 5*time.Second) {
				t.Errorf("connection still open %v after the server's Close", time.Since(t0).Round(time.Millisecond))
			}
		})
	}
	s.alive(t)
}

func u64len(op byte, n uint64) []byte {
	return []byte{0x80 | op, 0x80 | 127, byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), 1, 2, 3, 4}
}

func closePayload(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// TestMalformedFrames: each protocol violation of RFC 6455 §5 closes the
// connection with 1002.
func TestMalformedFrames(t *testing.T) {
	s := startServer(t)
	p := startProber(t, s)
	runWSCases(t, s, []wsCase{
		{name: "RSV1 without an extension", send: [][]byte{frame(true, 4, 1, []byte("x"), true)}, want: 1002},
		{name: "RSV2", send: [][]byte{frame(true, 2, 1, []byte("x"), true)}, want: 1002},
		{name: "RSV3", send: [][]byte{frame(true, 1, 1, []byte("x"), true)}, want: 1002},
		{name: "reserved data opcode 3", send: [][]byte{frame(true, 0, 3, []byte("x"), true)}, want: 1002},
		{name: "reserved control opcode 0xB", send: [][]byte{frame(true, 0, 0xB, nil, true)}, want: 1002},
		{name: "unmasked client frame", send: [][]byte{frame(true, 0, 1, []byte("x"), false)}, want: 1002},
		{name: "fragmented ping", send: [][]byte{frame(false, 0, 9, []byte("x"), true)}, want: 1002},
		{name: "ping of 126 bytes", send: [][]byte{frame(true, 0, 9, make([]byte, 126), true)}, want: 1002},
		{name: "continuation without a message", send: [][]byte{frame(true, 0, 0, []byte("x"), true)}, want: 1002},
		{name: "new message inside a fragmented one", send: [][]byte{frame(false, 0, 1, []byte("a"), true), frame(true, 0, 1, []byte("b"), true)}, want: 1002},
		{name: "close with a 1-byte body", send: [][]byte{frame(true, 0, 8, []byte{3}, true)}, want: 1002},
		{name: "close code 999", send: [][]byte{frame(true, 0, 8, closePayload(999, ""), true)}, want: 1002},
		{name: "close code 1005", send: [][]byte{frame(true, 0, 8, closePayload(1005, ""), true)}, want: 1002},
		{name: "close code 1006", send: [][]byte{frame(true, 0, 8, closePayload(1006, ""), true)}, want: 1002},
		{name: "close code 5000", send: [][]byte{frame(true, 0, 8, closePayload(5000, ""), true)}, want: 1002},
		{name: "64-bit length with the top bit set", send: [][]byte{u64len(2, 1<<63|5)}, want: 1002},
		{name: "garbage after the handshake", send: [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, want: 1002},
	})
	p.stop("malformed frames")
	mustProbe(t, s, "after malformed frames")
}

// TestInvalidUTF8: text that is not UTF-8 closes with 1007, also when the bad
// bytes come in a later fragment or in a Close reason.
func TestInvalidUTF8(t *testing.T) {
	s := startServer(t)
	runWSCases(t, s, []wsCase{
		{name: "0xFF", send: [][]byte{frame(true, 0, 1, []byte{'a', 0xff}, true)}, want: 1007},
		{name: "overlong slash", send: [][]byte{frame(true, 0, 1, []byte{0xc0, 0xaf}, true)}, want: 1007},
		{name: "surrogate half", send: [][]byte{frame(true, 0, 1, []byte{0xed, 0xa0, 0x80}, true)}, want: 1007},
		{name: "above U+10FFFF", send: [][]byte{frame(true, 0, 1, []byte{0xf4, 0x90, 0x80, 0x80}, true)}, want: 1007},
		{name: "truncated at the end", send: [][]byte{frame(true, 0, 1, []byte{'a', 0xe2, 0x82}, true)}, want: 1007},
		{name: "bad second fragment", send: [][]byte{frame(false, 0, 1, []byte("ok"), true), frame(true, 0, 0, []byte{0xff}, true)}, want: 1007},
		{name: "bad first fragment, never finished", send: [][]byte{frame(false, 0, 1, []byte{0xff}, true)}, want: 1007},
		{name: "close reason", send: [][]byte{frame(true, 0, 8, closePayload(1000, "\xff"), true)}, want: 1007},
		{name: "signaling text", path: "/signal", send: [][]byte{frame(true, 0, 1, []byte{'{', 0xff}, true)}, want: 1007},
		{name: "engine.io text", path: "/socket.io/?EIO=4&transport=websocket", send: [][]byte{frame(true, 0, 1, []byte{'4', 0xff}, true)}, want: 1007},
	})
	mustProbe(t, s, "after invalid UTF-8")
}

// TestOversizedFrames: a message over an endpoint's limit closes with 1009
// as soon as its header (or the running total of its fragments, or its
// inflated size) says so, without the server reading or buffering the rest.
func TestOversizedFrames(t *testing.T) {
	s := startServer(t)
	rss0 := s.rssKiB(t)
	// 65 MiB of zeros, deflated to ~64 KiB: 1 MiB compressed once and
	// sync-flushed, so that it is a self-contained run of blocks, repeated.
	var mib bytes.Buffer
	zw, _ := flate.NewWriter(&mib, flate.BestCompression)
	_, _ = zw.Write(make([]byte, 1<<20))
	_ = zw.Flush()                                                                        // ends with the empty stored block 00 00 ff ff
	bombBody := bytes.TrimSuffix(bytes.Repeat(mib.Bytes(), 65), []byte{0, 0, 0xff, 0xff}) // §7.2.1 strips the last one
	half := make([]byte, 600<<10)
	runWSCases(t, s, []wsCase{
		{name: "echo: header of 65 MiB (limit 64 MiB)", send: [][]byte{u64len(2, 65<<20)}, want: 1009},
		{name: "echo: header of 2^62 bytes", send: [][]byte{u64len(2, 1<<62)}, want: 1009},
		{name: "signal: header of 2 MiB (limit 1 MiB)", path: "/signal", send: [][]byte{u64len(1, 2<<20)}, want: 1009},
		{name: "signal: fragments adding up past 1 MiB", path: "/signal", send: [][]byte{frame(false, 0, 2, half, true), frame(true, 0, 0, half, true)}, want: 1009},
		{name: "engine.io: header of 2 MB (maxPayload 1e6)", path: "/socket.io/?EIO=4&transport=websocket", send: [][]byte{u64len(1, 2_000_000)}, want: 1009},
	})
	// The deflate bomb needs permessage-deflate negotiated.
	t.Run("echo: deflate bomb inflating to 65 MiB", func(t *testing.T) {
		c, br := rawWSExt(t, s.addr, "/echo", "permessage-deflate")
		_, _ = c.Write(frame(true, 4, 2, bombBody, true))
		if got := readClose(c, br, 2*probeTimeout); got != 1009 {
			t.Errorf("close code %d, want 1009", got)
		}
	})
	t.Logf("deflate bomb: %d bytes on the wire; server RSS %d KiB before, %d KiB after", len(bombBody), rss0, s.rssKiB(t))
	mustProbe(t, s, "after oversized frames")
}

// rawWSExt is rawWS offering an extension; it fails unless the server
// accepts it.
func rawWSExt(t *testing.T, addr, path, ext string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := dialFrom(0, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n", path, addr, ext)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Extensions") == "" {
		t.Fatalf("upgrade with %s: %s %v", ext, resp.Status, resp.Header)
	}
	return nc, br
}

package websocket_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
	"github.com/switchboard/switchboard/websocket/frame"
)

// These tables port the case groups of the Autobahn|Testsuite fuzzingclient
// (sections 1-7, 9, 12-13) so that CI checks them without the suite itself.
// Section numbers in the names follow Autobahn's.

func conformanceServer(t *testing.T) string {
	_, addr := startServe(t, websocket.Config{Compression: true, MaxMessageSize: 1 << 20})
	return addr
}

func TestAutobahn1Framing(t *testing.T) {
	addr := conformanceServer(t)
	for _, n := range []int{0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 300000} {
		for _, op := range []frame.Opcode{frame.OpText, frame.OpBinary} {
			c := dialRaw(t, addr, "/echo", "")
			p := bytes.Repeat([]byte{'*'}, n)
			c.send(op, true, 0, p)
			c.expect(op, p)
			// A header and payload split at every byte boundary still parse.
			whole := rawFrame(op, true, 0, p[:min(n, 300)])
			for _, b := range whole {
				c.write([]byte{b})
			}
			c.expect(op, p[:min(n, 300)])
		}
	}
}

func TestAutobahn2PingPong(t *testing.T) {
	addr := conformanceServer(t)
	t.Run("ping echoes payload", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		for _, p := range [][]byte{nil, []byte("hello"), {0, 0xff, 0xfe}, bytes.Repeat([]byte{0xfe}, 125)} {
			c.send(frame.OpPing, true, 0, p)
			c.expect(frame.OpPong, p)
		}
	})
	t.Run("10 pings 10 pongs", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		var all []byte
		for i := 0; i < 10; i++ {
			all = append(all, rawFrame(frame.OpPing, true, 0, []byte{byte('0' + i)})...)
		}
		c.write(all)
		for i := 0; i < 10; i++ {
			c.expect(frame.OpPong, []byte{byte('0' + i)})
		}
	})
	t.Run("unsolicited pong ignored", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpPong, true, 0, []byte("x"))
		c.send(frame.OpText, true, 0, []byte("after"))
		c.expect(frame.OpText, []byte("after"))
	})
	t.Run("ping of 126 bytes fails", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpPing, true, 0, bytes.Repeat([]byte{1}, 126))
		c.expectClose(1002)
	})
}

func TestAutobahn3ReservedBits(t *testing.T) {
	addr := conformanceServer(t)
	for _, tc := range []struct {
		name string
		op   frame.Opcode
		rsv  byte
	}{
		{"rsv2 text", frame.OpText, 2}, {"rsv3 text", frame.OpText, 1}, {"rsv1+2 binary", frame.OpBinary, 6},
		{"rsv1 ping", frame.OpPing, 4}, {"all rsv close", frame.OpClose, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr, "/echo", "")
			c.send(tc.op, true, tc.rsv, []byte("x"))
			c.expectClose(1002)
		})
	}
	t.Run("rsv1 without negotiated compression", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, true, 4, []byte("x"))
		c.expectClose(1002)
	})
	t.Run("echo before the bad frame still arrives", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.write(append(rawFrame(frame.OpText, true, 0, []byte("ok")), rawFrame(frame.OpText, true, 2, []byte("bad"))...))
		c.expect(frame.OpText, []byte("ok"))
		c.expectClose(1002)
	})
}

func TestAutobahn4Opcodes(t *testing.T) {
	addr := conformanceServer(t)
	for _, op := range []frame.Opcode{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		c := dialRaw(t, addr, "/echo", "")
		c.send(op, true, 0, []byte("payload"))
		c.expectClose(1002)
	}
}

func TestAutobahn5Fragmentation(t *testing.T) {
	addr := conformanceServer(t)
	t.Run("text in fragments", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, false, 0, []byte("frag"))
		c.send(frame.OpContinuation, false, 0, []byte("ment"))
		c.send(frame.OpContinuation, true, 0, []byte("ed"))
		c.expect(frame.OpText, []byte("fragmented"))
	})
	t.Run("empty fragments", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpBinary, false, 0, nil)
		c.send(frame.OpContinuation, false, 0, nil)
		c.send(frame.OpContinuation, true, 0, nil)
		c.expect(frame.OpBinary, []byte{})
	})
	t.Run("ping interleaved", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, false, 0, []byte("a"))
		c.send(frame.OpPing, true, 0, []byte("p"))
		c.send(frame.OpContinuation, true, 0, []byte("b"))
		c.expect(frame.OpPong, []byte("p"))
		c.expect(frame.OpText, []byte("ab"))
	})
	t.Run("fragments one byte at a time with pings", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		var all []byte
		all = append(all, rawFrame(frame.OpText, false, 0, []byte("x"))...)
		for i := 0; i < 5; i++ {
			all = append(all, rawFrame(frame.OpPing, true, 0, []byte{byte(i)})...)
			all = append(all, rawFrame(frame.OpContinuation, i == 4, 0, []byte("y"))...)
		}
		for _, b := range all {
			c.write([]byte{b})
		}
		for i := 0; i < 5; i++ {
			c.expect(frame.OpPong, []byte{byte(i)})
		}
		c.expect(frame.OpText, []byte("xyyyyy"))
	})
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"fragmented ping", [][]byte{rawFrame(frame.OpPing, false, 0, []byte("a")), rawFrame(frame.OpContinuation, true, 0, []byte("b"))}},
		{"fragmented pong", [][]byte{rawFrame(frame.OpPong, false, 0, []byte("a"))}},
		{"continuation first", [][]byte{rawFrame(frame.OpContinuation, true, 0, []byte("a"))}},
		{"continuation after end", [][]byte{rawFrame(frame.OpText, true, 0, []byte("a")), rawFrame(frame.OpContinuation, true, 0, []byte("b"))}},
		{"text inside fragmented text", [][]byte{rawFrame(frame.OpText, false, 0, []byte("a")), rawFrame(frame.OpText, true, 0, []byte("b"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr, "/echo", "")
			for _, f := range tc.frames {
				c.write(f)
			}
			if tc.name == "continuation after end" {
				c.expect(frame.OpText, []byte("a"))
			}
			c.expectClose(1002)
		})
	}
}

func TestAutobahn6UTF8(t *testing.T) {
	addr := conformanceServer(t)
	valid := []string{"Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "\U0010FFFF", "\uFFFD", "\u0800", "\xed\x9f\xbf", "\xee\x80\x80"}
	for _, s := range valid {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, true, 0, []byte(s))
		c.expect(frame.OpText, []byte(s))
		// Same text fragmented at every byte.
		for i := 0; i < len(s); i++ {
			op := frame.OpContinuation
			if i == 0 {
				op = frame.OpText
			}
			c.send(op, i == len(s)-1, 0, []byte{s[i]})
		}
		c.expect(frame.OpText, []byte(s))
	}
	invalid := []string{"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
		"\xc0\xaf", "\xe0\x80\xaf", "\xf8\x88\x80\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xff", "\x80", "\xce"}
	for _, s := range invalid {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, true, 0, []byte(s))
		c.expectClose(1007)
	}
	t.Run("fail fast inside a fragment", func(t *testing.T) {
		// Autobahn 6.4.1: the second fragment makes the text invalid; the
		// server must close before the message ends.
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, false, 0, []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"))
		c.send(frame.OpContinuation, false, 0, []byte("\xf4\x90\x80\x80"))
		c.expectClose(1007)
	})
	t.Run("fail fast inside a frame", func(t *testing.T) {
		// Autobahn 6.4.3: one frame delivered in chunks; the invalid
		// sequence arrives before the frame's end.
		c := dialRaw(t, addr, "/echo", "")
		p := []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64")
		f := rawFrame(frame.OpText, true, 0, p)
		hdr := len(f) - len(p)
		c.write(f[:hdr+11])
		time.Sleep(20 * time.Millisecond)
		c.write(f[hdr+11 : hdr+13])
		c.expectClose(1007)
	})
	t.Run("text ends inside a sequence", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpText, false, 0, []byte("ok\xe2\x82"))
		c.send(frame.OpContinuation, true, 0, nil)
		c.expectClose(1007)
	})
}

func TestAutobahn7Close(t *testing.T) {
	addr := conformanceServer(t)
	closePayload := func(code int, reason string) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(code))
		return append(b, reason...)
	}
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpClose, true, 0, closePayload(code, "reason"))
		c.expectClose(code)
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpClose, true, 0, closePayload(code, ""))
		c.expectClose(1002)
	}
	t.Run("empty close", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpClose, true, 0, nil)
		c.expectClose(1005) // an empty Close is answered by an empty Close
	})
	t.Run("one byte close", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpClose, true, 0, []byte{3})
		c.expectClose(1002)
	})
	t.Run("reason not utf8", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpClose, true, 0, closePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))
		c.expectClose(1007)
	})
	t.Run("reason 123 bytes", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpClose, true, 0, closePayload(1000, strings.Repeat("*", 123)))
		c.expectClose(1000)
	})
	t.Run("data after close ignored", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.write(append(rawFrame(frame.OpClose, true, 0, closePayload(1000, "")), rawFrame(frame.OpText, true, 0, []byte("late"))...))
		c.expectClose(1000)
	})
}

func TestAutobahn9Limits(t *testing.T) {
	addr := conformanceServer(t) // MaxMessageSize 1 MiB
	t.Run("at the limit", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		p := bytes.Repeat([]byte{'a'}, 1<<20)
		c.send(frame.OpBinary, true, 0, p)
		c.expect(frame.OpBinary, p)
	})
	t.Run("one frame over", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		c.send(frame.OpBinary, true, 0, make([]byte, 1<<20+1))
		c.expectClose(1009)
	})
	t.Run("fragments over", func(t *testing.T) {
		c := dialRaw(t, addr, "/echo", "")
		for i := 0; i < 4; i++ {
			c.send(frame.OpContinuation*frame.Opcode(min(i, 1))+frame.OpBinary*frame.Opcode(1-min(i, 1)), false, 0, make([]byte, 300<<10))
		}
		c.expectClose(1009)
	})
}

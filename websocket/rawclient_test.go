package websocket_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket/frame"
)

// rawClient speaks WebSocket byte by byte, so tests can send exactly what
// an Autobahn case sends, including frames a real client never would.
type rawClient struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	resp string
}

func dialRaw(t *testing.T, addr, path string, extra string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var kb [16]byte
	_, _ = rand.Read(kb[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(kb[:]) + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading handshake response: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	if !strings.HasPrefix(head.String(), "HTTP/1.1 101 ") {
		t.Fatalf("handshake: %q", head.String())
	}
	return &rawClient{t: t, nc: nc, br: br, resp: head.String()}
}

// send writes one masked frame with explicit header bits.
func (c *rawClient) send(op frame.Opcode, fin bool, rsv byte, payload []byte) {
	c.t.Helper()
	c.write(rawFrame(op, fin, rsv, payload))
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func rawFrame(op frame.Opcode, fin bool, rsv byte, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := frame.AppendMaskedFrame(nil, op, fin, false, key, payload)
	b[0] |= rsv << 4
	return b
}

type rawMsg struct {
	op      frame.Opcode
	fin     bool
	rsv1    bool
	payload []byte
}

// next reads one frame from the server (servers never mask).
func (c *rawClient) next() (rawMsg, error) {
	var hdr [10]byte
	if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
		return rawMsg{}, err
	}
	if hdr[1]&0x80 != 0 {
		return rawMsg{}, errors.New("server sent a masked frame")
	}
	n := int64(hdr[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(c.br, hdr[2:4]); err != nil {
			return rawMsg{}, err
		}
		n = int64(binary.BigEndian.Uint16(hdr[2:4]))
	case 127:
		if _, err := io.ReadFull(c.br, hdr[2:10]); err != nil {
			return rawMsg{}, err
		}
		n = int64(binary.BigEndian.Uint64(hdr[2:10]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return rawMsg{}, err
	}
	return rawMsg{op: frame.Opcode(hdr[0] & 0xf), fin: hdr[0]&0x80 != 0, rsv1: hdr[0]&0x40 != 0, payload: p}, nil
}

func (c *rawClient) expect(op frame.Opcode, payload []byte) {
	c.t.Helper()
	m, err := c.next()
	if err != nil {
		c.t.Fatalf("want %v frame: %v", op, err)
	}
	if m.op != op || !bytes.Equal(m.payload, payload) {
		c.t.Fatalf("got op %v %q (len %d), want op %v len %d", m.op, trunc(m.payload), len(m.payload), op, len(payload))
	}
}

// expectClose reads until a Close frame, skipping nothing else, and checks
// its code; then it checks the server closes TCP.
func (c *rawClient) expectClose(code int) {
	c.t.Helper()
	m, err := c.next()
	if err != nil {
		c.t.Fatalf("want close %d: %v", code, err)
	}
	if m.op != frame.OpClose {
		c.t.Fatalf("want close %d, got op %v %q", code, m.op, trunc(m.payload))
	}
	got := 1005
	if len(m.payload) >= 2 {
		got = int(binary.BigEndian.Uint16(m.payload))
	}
	if got != code {
		c.t.Fatalf("close code %d (%q), want %d", got, m.payload, code)
	}
	// Answer, then the server must drop TCP (RFC 6455 §7.1.1).
	_, _ = c.nc.Write(rawFrame(frame.OpClose, true, 0, m.payload[:min(2, len(m.payload))]))
	if _, err := c.next(); err == nil {
		c.t.Fatalf("server sent a frame after its close")
	} else if !errors.Is(err, io.EOF) && !isReset(err) {
		c.t.Fatalf("want TCP close after close handshake, got %v", err)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset") }

func trunc(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q…", b[:40])
	}
	return fmt.Sprintf("%q", b)
}

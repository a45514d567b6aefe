package ws_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// startNodeWSServer starts test/node/ws_server.mjs (npm ws, permessage-deflate
// offered, every message compressed) on a port it picks itself, and returns
// its ws:// URL and the process (whose output logs connections and closes).
func startNodeWSServer(t *testing.T) (string, *testutil.Process) {
	t.Helper()
	node := testutil.Node(t)
	testutil.NodeModules(t)
	dir := testutil.NodeDir(t)
	p := testutil.StartProcess(t, node, []string{dir + "/ws_server.mjs", "0"})
	listening := regexp.MustCompile(`listening (\d+)\n`)
	deadline := time.Now().Add(30 * time.Second)
	var m []string
	for m = listening.FindStringSubmatch(p.Output()); m == nil; m = listening.FindStringSubmatch(p.Output()) {
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("ws_server.mjs did not report its port:\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "ws://127.0.0.1:" + m[1] + "/", p
}

// countingConn counts the bytes that cross the TCP connection, to prove
// compression happened on the wire.
type countingConn struct {
	net.Conn
	read, written *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoClientNodeServer: our Dial client against npm ws's server — text,
// binary, length boundaries, 1 MiB, a burst, ping and close; without and with
// permessage-deflate.
func TestGoClientNodeServer(t *testing.T) {
	url, server := startNodeWSServer(t)
	const MiB = 1 << 20
	largeText := strings.Repeat("Switchboard ✓ héllo 🌍 ", MiB/26+1)
	for i, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compression=%v", compress), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var read, written atomic.Int64
			dialer := &net.Dialer{}
			cc, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
				Compression: compress,
				NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := dialer.DialContext(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return countingConn{Conn: c, read: &read, written: &written}, nil
				},
			})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer cc.CloseNow()
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if compress != strings.Contains(ext, "permessage-deflate") {
				t.Fatalf("compression=%v but server answered extensions %q", compress, ext)
			}

			echo := func(name string, typ websocket.MessageType, data []byte) {
				t.Helper()
				if err := cc.Write(ctx, typ, data); err != nil {
					t.Fatalf("%s: Write: %v", name, err)
				}
				gotTyp, got, err := cc.Read(ctx)
				if err != nil {
					t.Fatalf("%s: Read: %v", name, err)
				}
				if gotTyp != typ || !bytes.Equal(got, data) {
					t.Fatalf("%s: echo is %v with %d bytes, want %v with %d bytes", name, gotTyp, len(got), typ, len(data))
				}
			}
			echo("text", websocket.TextMessage, []byte("hello from Go"))
			echo("text-utf8", websocket.TextMessage, []byte("héllo wörld ✓ 🌍"))
			echo("text-empty", websocket.TextMessage, []byte{})
			echo("binary-empty", websocket.BinaryMessage, []byte{})
			for _, n := range []int{1, 125, 126, 127, 65535, 65536, 65537} {
				echo(fmt.Sprintf("binary-%d", n), websocket.BinaryMessage, randomBytes(t, n))
			}
			echo("large-binary", websocket.BinaryMessage, randomBytes(t, MiB))
			echo("large-text", websocket.TextMessage, []byte(largeText))

			// A highly compressible 1 MiB message: with compression its echo
			// must cross the wire in a small fraction of its size.
			r0, w0 := read.Load(), written.Load()
			echo("compressible", websocket.BinaryMessage, bytes.Repeat([]byte("abcdefgh"), MiB/8))
			gotRead, gotWritten := read.Load()-r0, written.Load()-w0
			t.Logf("compressible 1 MiB echo: %d bytes written, %d bytes read on the wire", gotWritten, gotRead)
			if compress {
				if gotRead > MiB/10 {
					t.Errorf("server's compressed echo took %d bytes on the wire", gotRead)
				}
				if gotWritten > MiB/10 {
					t.Errorf("our client sent the compressible message in %d bytes; not compressed", gotWritten)
				}
			} else if gotRead < MiB || gotWritten < MiB {
				t.Errorf("without compression the echo took %d/%d bytes, want ≥ 1 MiB each way", gotWritten, gotRead)
			}

			// A burst: 50 writes in flight, then the echoes in order.
			for i := range 50 {
				if err := cc.Write(ctx, websocket.TextMessage, []byte(fmt.Sprintf("burst %d", i))); err != nil {
					t.Fatalf("burst write %d: %v", i, err)
				}
			}
			for i := range 50 {
				_, got, err := cc.Read(ctx)
				if want := fmt.Sprintf("burst %d", i); err != nil || string(got) != want {
					t.Fatalf("burst read %d: %q, %v; want %q", i, got, err, want)
				}
			}

			// A ping between messages: the pong is consumed by Read, and the
			// next message still arrives.
			if err := cc.Ping(ctx, []byte("are you there")); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			echo("after-ping", websocket.TextMessage, []byte("still here"))

			// The server pings us: Read must answer with a pong carrying the
			// same payload (the server reports it back).
			if err := cc.Write(ctx, websocket.TextMessage, []byte("cmd:ping")); err != nil {
				t.Fatal(err)
			}
			if _, got, err := cc.Read(ctx); err != nil || string(got) != "pong:ping-payload" {
				t.Fatalf("server ping: got %q, %v; want the server to see our pong", got, err)
			}
			// A fragmented message from the server, a ping interleaved.
			if err := cc.Write(ctx, websocket.TextMessage, []byte("cmd:fragments")); err != nil {
				t.Fatal(err)
			}
			if typ, got, err := cc.Read(ctx); err != nil || typ != websocket.TextMessage || string(got) != "fragmented ✓ message" {
				t.Fatalf("fragmented message: got %v %q, %v", typ, got, err)
			}

			if err := cc.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				t.Fatalf("Close: %v", err)
			}
			// The ws server must have seen our Close 1000 (it logs "close CODE").
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(server.Output(), "close 1000") < i+1 {
				if time.Now().After(deadline) {
					t.Fatalf("ws server did not report close 1000 for connection %d:\n%s", i+1, server.Output())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestGoClientServerCloses: npm ws's server closes with an application code;
// our client's Read must report that code and reason, and keep reporting the
// end of the connection afterwards.
func TestGoClientServerCloses(t *testing.T) {
	url, _ := startNodeWSServer(t)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compression=%v", compress), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cc, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Compression: compress})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer cc.CloseNow()
			if err := cc.Write(ctx, websocket.TextMessage, []byte("cmd:close:4000:bye now")); err != nil {
				t.Fatal(err)
			}
			_, _, err = cc.Read(ctx)
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye now" || ce.Local {
				t.Fatalf("Read = %v (%#v), want the peer's CloseError 4000 %q", err, ce, "bye now")
			}
			if got := websocket.CloseStatus(err); got != 4000 {
				t.Fatalf("CloseStatus = %d, want 4000", got)
			}
			if _, _, err := cc.Read(ctx); err == nil {
				t.Fatal("Read after the close returned no error")
			}
			if err := cc.Write(ctx, websocket.TextMessage, []byte("late")); err == nil {
				t.Fatal("Write after the close returned no error")
			}
		})
	}
}

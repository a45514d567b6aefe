package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestProtocolProfileSocketIO runs the "Socket.IO protocol" cases of
// socket.io-protocol's test-suite/test-suite.js against --profile protocol
// over WebSocket, with the project's WebSocket client.
func TestProtocolProfileSocketIO(t *testing.T) {
	base := "ws" + strings.TrimPrefix(serveProfile(t, "protocol"), "http") + "/socket.io/?EIO=4&transport=websocket"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	type conn struct{ *websocket.ClientConn }
	dial := func(t *testing.T) conn {
		c, _, err := websocket.Dial(ctx, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return conn{c}
	}
	// next returns the next message other than a ping.
	next := func(t *testing.T, c conn) (websocket.MessageType, string, bool) {
		t.Helper()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return 0, "", false
			}
			if string(data) != "2" {
				return typ, string(data), true
			}
		}
	}
	expect := func(t *testing.T, c conn, want string) {
		t.Helper()
		if _, got, ok := next(t, c); !ok || got != want {
			t.Fatalf("got %q (open %v), want %q", got, ok, want)
		}
	}
	expectPrefix := func(t *testing.T, c conn, want string) {
		t.Helper()
		if _, got, ok := next(t, c); !ok || !strings.HasPrefix(got, want) {
			t.Fatalf("got %q (open %v), want prefix %q", got, ok, want)
		}
	}
	send := func(t *testing.T, c conn, typ websocket.MessageType, s string) {
		t.Helper()
		if err := c.Write(ctx, typ, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	expectClose := func(t *testing.T, c conn) {
		t.Helper()
		if _, got, ok := next(t, c); ok {
			t.Fatalf("got %q, want the connection closed", got)
		}
	}
	opened := func(t *testing.T) conn {
		c := dial(t)
		expectPrefix(t, c, "0{")
		return c
	}
	connected := func(t *testing.T) conn {
		c := opened(t)
		send(t, c, websocket.TextMessage, "40")
		expectPrefix(t, c, `40{"sid":"`)
		expect(t, c, `42["auth",{}]`)
		return c
	}

	t.Run("connect main with payload", func(t *testing.T) {
		c := opened(t)
		send(t, c, websocket.TextMessage, `40{"token":"123"}`)
		expectPrefix(t, c, `40{"sid":"`)
		expect(t, c, `42["auth",{"token":"123"}]`)
	})
	t.Run("connect custom", func(t *testing.T) {
		c := opened(t)
		send(t, c, websocket.TextMessage, `40/custom,{"token":"abc"}`)
		expectPrefix(t, c, `40/custom,{"sid":"`)
		expect(t, c, `42/custom,["auth",{"token":"abc"}]`)
	})
	t.Run("unknown namespace", func(t *testing.T) {
		c := opened(t)
		send(t, c, websocket.TextMessage, "40/random")
		expect(t, c, `44/random,{"message":"Invalid namespace"}`)
	})
	t.Run("invalid handshake", func(t *testing.T) {
		c := opened(t)
		send(t, c, websocket.TextMessage, "4abc")
		expectClose(t, c)
	})
	t.Run("no handshake", func(t *testing.T) {
		// Closed by connectTimeout (1000 ms) or, first, by the unanswered heartbeat, as in the official suite.
		expectClose(t, opened(t))
	})
	t.Run("disconnect custom, message main", func(t *testing.T) {
		c := connected(t)
		send(t, c, websocket.TextMessage, "40/custom")
		expectPrefix(t, c, `40/custom,{"sid":"`)
		expect(t, c, `42/custom,["auth",{}]`)
		send(t, c, websocket.TextMessage, "41/custom")
		send(t, c, websocket.TextMessage, `42["message","message to main namespace"]`)
		expect(t, c, `42["message-back","message to main namespace"]`)
	})
	t.Run("messages", func(t *testing.T) {
		c := connected(t)
		send(t, c, websocket.TextMessage, `42["message",1,"2",{"3":[true]}]`)
		expect(t, c, `42["message-back",1,"2",{"3":[true]}]`)
		send(t, c, websocket.TextMessage, `42456["message-with-ack",1,"2",{"3":[false]}]`)
		expect(t, c, `43456[1,"2",{"3":[false]}]`)
		send(t, c, websocket.TextMessage, `452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		send(t, c, websocket.BinaryMessage, "\x01\x02\x03")
		send(t, c, websocket.BinaryMessage, "\x04\x05\x06")
		expect(t, c, `462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		for _, want := range []string{"\x01\x02\x03", "\x04\x05\x06"} {
			if typ, got, ok := next(t, c); !ok || typ != websocket.BinaryMessage || got != want {
				t.Fatalf("attachment %v %q", typ, got)
			}
		}
	})
	for _, bad := range []string{"4abc", "42{}", `42abc["message-with-ack",1,"2",{"3":[false]}]`} {
		t.Run("invalid "+bad, func(t *testing.T) {
			c := connected(t)
			send(t, c, websocket.TextMessage, bad)
			expectClose(t, c)
		})
	}
}

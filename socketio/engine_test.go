package socketio

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/websocket"
)

// TestEngineBridge runs the Socket.IO protocol suite's WebSocket flows over a
// real engineio server and the project's WebSocket client, without node:
// handshake, CONNECT, an event with binary attachments and its ack, and a
// broadcast encoded once for two sessions (engineio.Message shared).
func TestEngineBridge(t *testing.T) {
	sio := protocolServer(t, Config{})
	sio.On("shout", func(ctx context.Context, s *Socket, args Args) (any, error) {
		return nil, s.Namespace().Emit("shouted", args.Values()...)
	})
	sio.On("whoami", func(ctx context.Context, s *Socket, args Args) (any, error) {
		h := s.Handshake() // from the engineio session's compact copy
		return Multi{h.URL, h.Query.Get("transport"), h.Headers.Get("X-Test"), h.Address, s.Request().Header.Get("X-Test")}, nil
	})
	eio, err := engineio.New(engineio.Config{Handler: sio.EngineHandler()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", eio)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sio.Shutdown(ctx)
		eio.Shutdown(ctx)
		hs.Shutdown(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	dial := func() *websocket.ClientConn {
		c, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket",
			&websocket.DialOptions{Header: http.Header{"X-Test": {"yes"}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *websocket.ClientConn) (websocket.MessageType, string) {
		t.Helper()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) == "2" { // ping
				c.Write(ctx, websocket.TextMessage, []byte("3"))
				continue
			}
			return typ, string(data)
		}
	}
	expect := func(c *websocket.ClientConn, typ websocket.MessageType, want string) {
		t.Helper()
		gt, got := read(c)
		if gt != typ || got != want {
			t.Fatalf("got %v %q, want %v %q", gt, got, typ, want)
		}
	}
	send := func(c *websocket.ClientConn, typ websocket.MessageType, s string) {
		if err := c.Write(ctx, typ, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	open := func() *websocket.ClientConn {
		c := dial()
		if _, hsk := read(c); !strings.HasPrefix(hsk, "0{") {
			t.Fatalf("handshake %q", hsk)
		}
		send(c, websocket.TextMessage, "40")
		if _, r := read(c); !strings.HasPrefix(r, `40{"sid":"`) {
			t.Fatalf("connect reply %q", r)
		}
		expect(c, websocket.TextMessage, `42["auth",{}]`)
		return c
	}
	a, b := open(), open()
	defer a.CloseNow()
	defer b.CloseNow()

	send(a, websocket.TextMessage, `4213["whoami"]`)
	expect(a, websocket.TextMessage, `4313["/socket.io/?EIO=4&transport=websocket","websocket","yes","127.0.0.1","yes"]`)

	send(a, websocket.TextMessage, `452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	send(a, websocket.BinaryMessage, "\x01\x02\x03")
	send(a, websocket.BinaryMessage, "\x04\x05\x06")
	expect(a, websocket.TextMessage, `462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	expect(a, websocket.BinaryMessage, "\x01\x02\x03")
	expect(a, websocket.BinaryMessage, "\x04\x05\x06")

	send(a, websocket.TextMessage, `451-["shout",{"_placeholder":true,"num":0}]`)
	send(a, websocket.BinaryMessage, "bin")
	for _, c := range []*websocket.ClientConn{a, b} {
		expect(c, websocket.TextMessage, `451-["shouted",{"_placeholder":true,"num":0}]`)
		expect(c, websocket.BinaryMessage, "bin")
	}

	// A malformed packet closes only its own session.
	send(a, websocket.TextMessage, "42{}")
	for {
		if _, _, err := a.Read(ctx); err != nil {
			if err == io.EOF || ctx.Err() == nil {
				break
			}
			t.Fatal(err)
		}
	}
	send(b, websocket.TextMessage, `4212["message-with-ack","alive"]`)
	expect(b, websocket.TextMessage, `4312["alive"]`)
}

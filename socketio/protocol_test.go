package socketio

import (
	"testing"
	"time"
)

// The "Socket.IO protocol" cases of socketio/socket.io-protocol's
// test-suite/test-suite.js, against a fake Engine.IO session.

func TestProtocolConnectMain(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{}))
	p.send("0")
	p.expectPrefix(`0{"sid":"`)
	p.expect(`2["auth",{}]`)
}

func TestProtocolConnectMainWithPayload(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{}))
	p.send(`0{"token":"123"}`)
	p.expectPrefix(`0{"sid":"`)
	p.expect(`2["auth",{"token":"123"}]`)
}

func TestProtocolConnectCustom(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{}))
	p.send("0/custom,")
	p.expectPrefix(`0/custom,{"sid":"`)
	p.expect(`2/custom,["auth",{}]`)
	p2 := newPeer(t, protocolServer(t, Config{}))
	p2.send(`0/custom,{"token":"abc"}`)
	p2.expectPrefix(`0/custom,{"sid":"`)
	p2.expect(`2/custom,["auth",{"token":"abc"}]`)
}

func TestProtocolUnknownNamespace(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{}))
	p.send("0/random")
	p.expect(`4/random,{"message":"Invalid namespace"}`)
}

func TestProtocolInvalidHandshake(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{}))
	p.send("4abc")
	p.waitClosed()
}

func TestProtocolConnectTimeout(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{ConnectTimeout: 50 * time.Millisecond}))
	p.waitClosed()
}

func TestProtocolDisconnect(t *testing.T) {
	srv := protocolServer(t, Config{})
	p := newPeer(t, srv)
	p.connect("/")
	p.expect(`2["auth",{}]`)
	p.connect("/custom")
	p.expect(`2/custom,["auth",{}]`)
	p.send("1/custom")
	p.send(`2["message","message to main namespace"]`)
	p.expect(`2["message-back","message to main namespace"]`)
	if n := len(srv.Of("/custom").Sockets()); n != 0 {
		t.Fatalf("%d sockets left in /custom", n)
	}
	p.send("1")
	p.send(`2["message","x"]`) // no longer connected: invalid state
	p.waitClosed()
}

func TestProtocolMessages(t *testing.T) {
	p := newPeer(t, protocolServer(t, Config{}))
	p.connect("/")
	p.expect(`2["auth",{}]`)

	p.send(`2["message",1,"2",{"3":[true]}]`)
	p.expect(`2["message-back",1,"2",{"3":[true]}]`)

	p.send(`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	p.sendBin([]byte{1, 2, 3})
	p.sendBin([]byte{4, 5, 6})
	p.expect(`52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	p.expectBin([]byte{1, 2, 3})
	p.expectBin([]byte{4, 5, 6})

	p.send(`2456["message-with-ack",1,"2",{"3":[false]}]`)
	p.expect(`3456[1,"2",{"3":[false]}]`)

	p.send(`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	p.sendBin([]byte{1, 2, 3})
	p.sendBin([]byte{4, 5, 6})
	p.expect(`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	p.expectBin([]byte{1, 2, 3})
	p.expectBin([]byte{4, 5, 6})

	// Key order and escapes are passed through untouched.
	p.send(`2["message",{"z":1,"a":"<\u00e9>"}]`)
	p.expect(`2["message-back",{"z":1,"a":"<\u00e9>"}]`)
}

func TestProtocolInvalidFormats(t *testing.T) {
	for _, bad := range []string{"4abc", "2{}", `2abc["message-with-ack",1,"2",{"3":[false]}]`, `2["connect"]`, "9"} {
		t.Run(bad, func(t *testing.T) {
			srv := protocolServer(t, Config{})
			p := newPeer(t, srv)
			p.connect("/")
			p.expect(`2["auth",{}]`)
			other := newPeer(t, srv)
			other.connect("/")
			other.expect(`2["auth",{}]`)
			p.send(bad)
			p.waitClosed()
			// Other sessions are unaffected.
			other.send(`21["message-with-ack","still here"]`)
			other.expect(`31["still here"]`)
		})
	}
}

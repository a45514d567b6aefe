package socketio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
)

// openedHandler is the Socket.IO server's engineio.Handler that also hands
// over every session it opens.
type openedHandler struct {
	engineio.Handler
	opened chan *engineio.Socket
}

func (h openedHandler) OnOpen(es *engineio.Socket) {
	h.Handler.OnOpen(es)
	h.opened <- es
}

// volatileServer is a Socket.IO server on a real engineio.Server (heartbeat
// out of the way) whose main namespace hands over every connected socket.
func volatileServer(t *testing.T) (*Server, *engineio.Server, chan *Socket, chan *engineio.Socket) {
	t.Helper()
	sio := newServer(t, Config{})
	sockets := make(chan *Socket, 4)
	sio.OnConnection(func(ctx context.Context, s *Socket) { sockets <- s })
	opened := make(chan *engineio.Socket, 4)
	eio, err := engineio.New(engineio.Config{Handler: openedHandler{sio.EngineHandler(), opened},
		PingInterval: time.Minute, PingTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = eio.Shutdown(ctx) // polling sessions wait for a GET that never comes
	})
	return sio, eio, sockets, opened
}

func receive[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10 s")
		panic("unreachable")
	}
}

// TestVolatilePolling: on polling, a volatile packet is dropped while
// another packet waits for the client's next GET (socket.io: the transport
// is not writable), by Emit and by broadcast alike; other packets are not.
func TestVolatilePolling(t *testing.T) {
	sio, eio, sockets, _ := volatileServer(t)
	ts := httptest.NewServer(eio)
	defer ts.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	do := func(method, query, body string) string {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+"/socket.io/?EIO=4&transport=polling"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %q %v", method, query, resp.StatusCode, b, err)
		}
		return string(b)
	}
	open := do("GET", "", "")
	var hs struct{ SID string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &hs) != nil {
		t.Fatalf("handshake %q", open)
	}
	q := "&sid=" + hs.SID
	do("POST", q, "40")
	s := receive(t, sockets) // its CONNECT reply is queued
	if got := do("GET", q, ""); !strings.HasPrefix(got, `40{"sid":`) {
		t.Fatalf("connect reply %q", got)
	}

	// Nothing waits: the first volatile packet is queued for the next GET.
	if err := s.EmitVolatile("v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.EmitVolatile("dropped"); err != nil {
		t.Fatal(err)
	}
	if err := sio.Of("/").Volatile().Emit("dropped-broadcast"); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("kept"); err != nil {
		t.Fatal(err)
	}
	if got, want := do("GET", q, ""), "42[\"v1\"]\x1e42[\"kept\"]"; got != want {
		t.Fatalf("poll got %q, want %q", got, want)
	}
	// Collected: writable again.
	if err := sio.Of("/").Volatile().Emit("v2"); err != nil {
		t.Fatal(err)
	}
	// A volatile broadcast with ack does not count (and wait for) the
	// socket it dropped the packet for: v2 still waits for the next GET.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	replies, err := sio.Of("/").Volatile().EmitWithAck(ctx, "dropped-with-ack")
	if err != nil || len(replies) != 0 {
		t.Fatalf("volatile EmitWithAck to a busy socket: %v, %v; want no replies at once", replies, err)
	}
	if got, want := do("GET", q, ""), `42["v2"]`; got != want {
		t.Fatalf("poll got %q, want %q", got, want)
	}
}

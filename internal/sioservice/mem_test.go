//go:build !race

package sioservice

import (
	"context"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

// countConn is an Engine.IO session that counts what it is sent.
type countConn struct {
	id   string
	sent atomic.Int32
}

func (c *countConn) ID() string              { return c.id }
func (c *countConn) Send([]byte, bool) error { c.sent.Add(1); return nil }
func (c *countConn) Close() error            { return nil }

// TestMemoryPerJoinedSocket reports (with -v) and bounds the heap of an idle
// socket of the default namespace that has joined a room through the
// service (rooms of 100), Engine.IO session excluded. What the join handler
// leaves behind counts: a context derived from the socket's would stay
// registered with it for the socket's life.
func TestMemoryPerJoinedSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	// The first round also pays for one-off growth (runtime timer heaps,
	// encoders cached by type); the second measures what a socket costs.
	measureJoined(t)
	per, objs := measureJoined(t)
	t.Logf("socket.io layer with the service: %.0f bytes and %.1f objects per joined idle socket", per, objs)
	if per > 1024 {
		t.Fatalf("%.0f bytes per socket, budget 1024", per)
	}
}

// measureJoined connects 2,000 sockets, each joining a room of 100, and
// returns the heap growth per socket in bytes and objects.
func measureJoined(t *testing.T) (bytes, objects float64) {
	t.Helper()
	srv, err := socketio.New(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	Install(srv.Of("/"))
	const n = 2000
	conns := make([]*countConn, n)
	for i := range conns {
		conns[i] = &countConn{id: strconv.Itoa(i)}
	}
	keep := make([]*socketio.Conn, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	for i := range n {
		c, err := srv.Open(conns[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Receive([]byte("0"), false)
		c.Receive([]byte(`20["join","r-`+strconv.Itoa(i/100)+`"]`), false)
		keep[i] = c
	}
	// Each connection gets its CONNECT reply and its join ack,
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < n; {
		if conns[i].sent.Load() >= 2 {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d got %d packets, want 2", i, conns[i].sent.Load())
		}
		time.Sleep(time.Millisecond)
	}
	// and its handler goroutine, started on demand, is gone.
	for runtime.NumGoroutine() > goroutines {
		if time.Now().After(deadline) {
			t.Fatalf("%d handler goroutines still running", runtime.NumGoroutine()-goroutines)
		}
		time.Sleep(time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(after.HeapAlloc-before.HeapAlloc) / n, float64(after.HeapObjects-before.HeapObjects) / n
}

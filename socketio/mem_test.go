package socketio

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
)

// TestMemoryPerSocket reports (with -v) and bounds the Socket.IO layer's heap
// per connected idle socket, Engine.IO session excluded.
func TestMemoryPerSocket(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("memory measurement")
	}
	srv, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	req := httptest.NewRequest("GET", "/socket.io/", nil)
	const n = 5000
	conns := make([]*discardConn, n)
	for i := range conns {
		conns[i] = &discardConn{id: strconv.Itoa(i)}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep := make([]*Conn, n)
	for i := range n {
		c, err := srv.Open(conns[i], req)
		if err != nil {
			t.Fatal(err)
		}
		c.Receive([]byte("0"), false)
		keep[i] = c
	}
	srv.handlers.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("socket.io layer: %.0f bytes per idle connected socket", per)
	if per > 2048 {
		t.Fatalf("%.0f bytes per socket, budget 2048", per)
	}
	runtime.KeepAlive(keep)
}

package socketio

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// discardConn is an Engine.IO session that counts what it is given.
type discardConn struct {
	id    string
	bytes atomic.Int64
}

func (d *discardConn) ID() string { return d.id }
func (d *discardConn) Send(data []byte, _ bool) error {
	d.bytes.Add(int64(len(data)))
	return nil
}
func (d *discardConn) Close() error { return nil }

// BenchmarkRoomBroadcast measures one event broadcast to a room of 10,000
// sockets: the packet is encoded once, so the cost per receiver is the
// adapter's walk and one Send.
func BenchmarkRoomBroadcast(b *testing.B) {
	srv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	nsp := srv.Of("/")
	const n = 10000
	req := httptest.NewRequest("GET", "/socket.io/", nil)
	for i := range n {
		c, err := srv.Open(&discardConn{id: strconv.Itoa(i)}, req)
		if err != nil {
			b.Fatal(err)
		}
		c.Receive([]byte("0"), false)
	}
	// Connections complete on their handler goroutines.
	for len(nsp.Sockets()) < n {
		srv.handlers.Wait()
	}
	for _, s := range nsp.Sockets() {
		s.Join("room")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := nsp.To("room").Emit("tick", map[string]any{"n": 1, "msg": "hello"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/receiver")
}

// BenchmarkEventWithAck measures decoding an EVENT with an ack id, running its
// handler and encoding the ACK (64-byte payload).
func BenchmarkEventWithAck(b *testing.B) {
	srv, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	srv.On("echo", func(ctx context.Context, s *Socket, args Args) (any, error) { return args, nil })
	d := &discardConn{id: "x"}
	c, _ := srv.Open(d, nil)
	c.Receive([]byte("0"), false)
	srv.handlers.Wait()
	msg := []byte(`21["echo","` + string(make([]byte, 0)) + `0123456789012345678901234567890123456789012345678901"]`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.Receive(msg, false)
		srv.handlers.Wait()
	}
}

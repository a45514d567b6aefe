package websocket

import (
	"bytes"
	"testing"
	"time"
)

func TestInflateLimits(t *testing.T) {
	z := compress(make([]byte, 4<<20), 1)
	done := make(chan error, 1)
	go func() {
		out, err := inflate(z, 1<<20)
		if err == nil {
			pool.Put(out)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != errTooBig {
			t.Fatalf("inflate of a 4 MiB bomb with a 1 MiB limit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("inflate did not return")
	}
	msg := bytes.Repeat([]byte("switchboard "), 1000)
	z = compress(msg, 1)
	out, err := inflate(z, 1<<20)
	if err != nil || !bytes.Equal(out, msg) {
		t.Fatalf("round trip: %v, %d bytes", err, len(out))
	}
	pool.Put(out)
	pool.Put(z)
}

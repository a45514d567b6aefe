package abuse

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// handshakeTimeout is the server's bound on reading a request head
// (websocket.Config.HandshakeTimeout, whose default the binary keeps).
const handshakeTimeout = 10 * time.Second

// TestSlowloris holds hundreds of connections that never finish their
// request head — silent, a WebSocket upgrade trickled a header per second,
// a plain GET trickled a byte per second — and checks that the server closes
// every one of them after its handshake timeout while it keeps serving
// well-behaved clients.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	mustProbe(t, s, "before the slowloris")
	fds0 := s.fds(t)

	type victim struct {
		c      net.Conn
		opened time.Time
		closed atomic.Int64 // unix ns; 0 while open
	}
	kinds := []struct {
		name  string
		head  string // sent at once
		drip  string // then one piece per second, forever
		count int
	}{
		{"silent", "", "", 200},
		{"websocket upgrade, a header a second", "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n", "X-Slow: 1\r\n", 200},
		{"plain GET, a byte a second", "GET /healthz HTTP/1.1\r\nHo", "s", 200},
		{"socket.io polling, a header a second", "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n", "X-Slow: 1\r\n", 100},
	}
	p := startProber(t, s)
	var wg sync.WaitGroup
	results := make([][]*victim, len(kinds))
	stopDrip := make(chan struct{})
	n := 0
	for ki, k := range kinds {
		for range k.count {
			c, err := dialFrom(n, s.addr)
			n++
			if err != nil {
				t.Fatal(err)
			}
			v := &victim{c: c, opened: time.Now()}
			results[ki] = append(results[ki], v)
			if k.head != "" {
				_, _ = c.Write([]byte(k.head))
			}
			wg.Add(1)
			go func() { // reader: notes when the server closes
				defer wg.Done()
				_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout + 20*time.Second))
				var b [512]byte
				for {
					if _, err := c.Read(b[:]); err != nil {
						v.closed.Store(time.Now().UnixNano())
						return
					}
				}
			}()
			if k.drip != "" {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(time.Second)
					defer tick.Stop()
					for {
						select {
						case <-stopDrip:
							return
						case <-tick.C:
							if _, err := c.Write([]byte(k.drip)); err != nil {
								return
							}
						}
					}
				}()
			}
		}
	}
	t.Logf("%d slowloris connections open", n)
	// Every one must be closed by the server within the handshake timeout
	// plus slack for a loaded machine.
	deadline := time.Now().Add(handshakeTimeout + 15*time.Second)
	waitFor(t, time.Until(deadline), "slowloris connections still open past the handshake timeout", func() bool {
		for _, vs := range results {
			for _, v := range vs {
				if v.closed.Load() == 0 {
					return false
				}
			}
		}
		return true
	})
	close(stopDrip)
	p.stop("the slowloris")
	for _, vs := range results {
		for _, v := range vs {
			v.c.Close()
		}
	}
	wg.Wait()
	for ki, k := range kinds {
		var ds []time.Duration
		for _, v := range results[ki] {
			ds = append(ds, time.Unix(0, v.closed.Load()).Sub(v.opened))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%s: %d closed by the server after %v .. %v", k.name, len(ds), ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
		if ds[0] < handshakeTimeout-time.Second {
			t.Errorf("%s: closed after %v, before the %v handshake timeout", k.name, ds[0], handshakeTimeout)
		}
	}
	waitFor(t, 10*time.Second, "server still holds the slowloris sockets", func() bool { return s.fds(t) <= fds0+20 })
	mustProbe(t, s, "after the slowloris")
}

// TestSlowlorisKeepAlive: after a complete request on a keep-alive
// connection, a second request head trickled a byte a second must also be
// cut off (net/http's ReadHeaderTimeout, set to the handshake timeout).
func TestSlowlorisKeepAlive(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const conns = 50
	closed := make(chan time.Duration, conns)
	for i := range conns {
		c, err := dialFrom(i, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		var b [512]byte
		_ = c.SetReadDeadline(time.Now().Add(probeTimeout))
		if n, err := c.Read(b[:]); err != nil || n == 0 {
			t.Fatalf("first request: %v", err)
		}
		_ = c.SetReadDeadline(time.Time{})
		go func() {
			start := time.Now()
			_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\n"))
			for time.Since(start) < handshakeTimeout+15*time.Second {
				time.Sleep(time.Second)
				if _, err := c.Write([]byte("X")); err != nil {
					break
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, err := c.Read(b[:]); err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						break
					}
				}
			}
			closed <- time.Since(start)
		}()
	}
	var worst time.Duration
	for range conns {
		d := <-closed
		worst = max(worst, d)
		if d >= handshakeTimeout+15*time.Second {
			t.Errorf("a trickled second request head was held for %v", d)
		}
	}
	t.Logf("trickled second request heads cut off within %v", worst.Round(time.Millisecond))
	mustProbe(t, s, "after the keep-alive slowloris")
}

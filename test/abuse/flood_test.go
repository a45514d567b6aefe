package abuse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upgradeRaw sends a WebSocket upgrade for path on c and reads the 101.
func upgradeRaw(c net.Conn, path string) error {
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != 101 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

// TestConnectionFlood: thousands of WebSocket connections opened as fast as
// the client can, a storm of connect-upgrade-close cycles, and a storm of
// Engine.IO handshakes whose sessions are abandoned. Well-behaved clients are
// served throughout, and when the flood ends the server lets go of every
// connection.
func TestConnectionFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	mustProbe(t, s, "before the flood")
	fds0, rss0 := s.fds(t), s.rssKiB(t)
	p := startProber(t, s)

	const held, cycles, sessions, workers = 2000, 1000, 500, 64
	var (
		mu     sync.Mutex
		conns  []net.Conn
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	work := make(chan int)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				switch {
				case i < held: // open and hold
					c, err := dialFrom(i, s.addr)
					if err == nil {
						err = upgradeRaw(c, "/echo")
						if err == nil {
							mu.Lock()
							conns = append(conns, c)
							mu.Unlock()
							continue
						}
						c.Close()
					}
					failed.Add(1)
				case i < held+cycles: // open, upgrade, close
					c, err := dialFrom(i, s.addr)
					if err == nil {
						err = upgradeRaw(c, "/echo")
						c.Close()
					}
					if err != nil {
						failed.Add(1)
					}
				default: // Engine.IO handshake, session abandoned
					c, err := dialFrom(i, s.addr)
					if err == nil {
						_ = c.SetDeadline(time.Now().Add(15 * time.Second))
						fmt.Fprintf(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
						var resp *http.Response
						if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							if resp.StatusCode != 200 {
								err = fmt.Errorf("%s", resp.Status)
							}
						}
						c.Close()
					}
					if err != nil {
						failed.Add(1)
					}
				}
			}
		}()
	}
	for i := range held + cycles + sessions {
		work <- i
	}
	close(work)
	wg.Wait()
	took := time.Since(start)
	mu.Lock()
	n := len(conns)
	mu.Unlock()
	t.Logf("flood: %d connections held, %d upgrade cycles, %d abandoned Engine.IO sessions in %v; %d attempts failed",
		n, cycles, sessions, took.Round(time.Millisecond), failed.Load())
	t.Logf("server: %d -> %d fds, RSS %d -> %d KiB (%.1f KiB per held connection)", fds0, s.fds(t), rss0, s.rssKiB(t), float64(s.rssKiB(t)-rss0)/float64(max(n, 1)))
	if n < held*9/10 {
		t.Errorf("only %d of %d flood connections were accepted (no limit should refuse them from 8 addresses)", n, held)
	}
	// The held connections still work: an echo on a few of them.
	for _, c := range conns[:min(5, n)] {
		_ = c.SetDeadline(time.Now().Add(probeTimeout))
		if _, err := c.Write(frame(true, 0, 1, []byte("hi"), true)); err != nil {
			t.Fatal(err)
		}
		var got [4]byte
		if _, err := io.ReadFull(c, got[:]); err != nil || string(got[2:]) != "hi" {
			t.Errorf("held connection echo: %q %v", got, err)
		}
	}
	p.stop("the connection flood")

	for _, c := range conns {
		c.Close()
	}
	waitFor(t, 15*time.Second, "the server did not let go of the flood's sockets", func() bool {
		return s.fds(t) <= fds0+20
	})
	mustProbe(t, s, "after the flood")
}

// TestRequestFlood: plain HTTP requests (health, metrics, the demo page, 404s)
// from many keep-alive connections at once.
func TestRequestFlood(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := startProber(t, s)
	const clients, perClient = 50, 20
	var wg sync.WaitGroup
	var failed, done atomic.Int64
	paths := []string{"/healthz", "/readyz", "/metrics", "/", "/nope", "/socket.io/?EIO=4&transport=bogus", "/signal", "/peerjs/peerjs/id"}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) { return dialFrom(i, addr) }}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 15 * time.Second}
			for j := range perClient {
				resp, err := hc.Get("http://" + s.addr + paths[(i+j)%len(paths)])
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					failed.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	p.stop("the request flood")
	t.Logf("%d requests answered, %d failed or 5xx", done.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d requests failed", failed.Load())
	}
	if !strings.Contains(s.logs.String(), "panic") {
		return
	}
	t.Errorf("server logged a panic:\n%s", s.logs)
}

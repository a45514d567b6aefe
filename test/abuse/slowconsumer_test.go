package abuse

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// smallBufDialer dials with a 4 KiB receive buffer: a client that does not
// read then holds almost nothing in its own kernel, and the backlog stays on
// the server, where the test wants it.
func smallBufDialer(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(sources[i%len(sources)])},
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		},
	}
	return d.DialContext
}

// rssSampler records the peak of the server's RSS until stopped.
func rssSampler(t *testing.T, s *server) (stop func() int) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if v := int64(s.rssKiB(t)); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() int { close(done); wg.Wait(); return int(peak.Load()) }
}

// TestEchoNeverReads: clients send 1 MiB messages to /echo as fast as they
// can and never read the echoes. The server must drop each of them once its
// output backlog passes the limit (websocket.Config.WriteBufferLimit, 4 MiB)
// instead of buffering everything they send, and keep serving others.
func TestEchoNeverReads(t *testing.T) {
	s := startServer(t)
	mustProbe(t, s, "before the non-readers")
	rss0 := s.rssKiB(t)
	stopRSS := rssSampler(t, s)
	p := startProber(t, s)

	const clients, msg, maxPerClient = 10, 1 << 20, 64 // at most 64 MiB each
	payload := make([]byte, msg)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	wire := frame(true, 0, 2, payload, true)
	var wg sync.WaitGroup
	sent := make([]int, clients)
	dropped := make([]bool, clients)
	for i := range clients {
		c, err := smallBufDialer(i)(context.Background(), "tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := upgradeRaw(c, "/echo"); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent[i] < maxPerClient {
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write(wire); err != nil {
					// Reset by the server, or a write that cannot proceed
					// for 10 s because the server stopped reading.
					dropped[i] = !isTimeout(err) || closedByPeer(c, 10*time.Second)
					return
				}
				sent[i]++
			}
			dropped[i] = closedByPeer(c, 10*time.Second)
		}()
	}
	wg.Wait()
	peak := stopRSS()
	p.stop("the non-reading echo clients")
	total := 0
	for i := range clients {
		total += sent[i]
		if !dropped[i] {
			t.Errorf("client %d: sent %d MiB without reading and was not dropped", i, sent[i])
		}
	}
	t.Logf("%d non-reading clients sent %d MiB in all (at most %d MiB each before being dropped: %v)", clients, total, maxPerClient, sent)
	t.Logf("server RSS %d KiB before, peak %d KiB (+%d KiB), %d KiB after", rss0, peak, peak-rss0, s.rssKiB(t))
	// Bound: per connection the 4 MiB backlog, one message being read and
	// one being echoed, twice over for the garbage collector's headroom.
	if bound := rss0 + clients*2*(4<<10+2*msg>>10) + 32<<10; peak > bound {
		t.Errorf("server RSS peaked at %d KiB, above the %d KiB bound for %d dropped slow consumers", peak, bound, clients)
	}
	waitFor(t, 10*time.Second, "the dropped connections are still counted", func() bool { return openConns(t, s) == 0 })
	mustProbe(t, s, "after the non-readers")
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// openConns reads switchboard_websocket_connections from /metrics.
func openConns(t *testing.T, s *server) int {
	t.Helper()
	v := metric(t, s, "switchboard_websocket_connections")
	return int(v)
}

func metric(t *testing.T, s *server, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// sioWS is a minimal Socket.IO client over WebSocket for these tests.
func sioWS(t *testing.T, s *server, dial func(context.Context, string, string) (net.Conn, error)) *websocket.ClientConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/socket.io/?EIO=4&transport=websocket", &websocket.DialOptions{NetDial: dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	expect := func(prefix string) string {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("socket.io: waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(string(b), prefix) {
				return string(b)
			}
			if string(b) == "2" {
				_ = ws.Write(ctx, websocket.TextMessage, []byte("3"))
			}
		}
	}
	expect("0{")
	_ = ws.Write(ctx, websocket.TextMessage, []byte("40"))
	expect("40")
	_ = ws.Write(ctx, websocket.TextMessage, []byte(`420["join","slow"]`))
	if a := expect("430"); !strings.Contains(a, `"ok":true`) {
		t.Fatalf("join: %s", a)
	}
	return ws
}

// TestSocketIONeverReads: a Socket.IO member that stops reading while its
// room gets 30 MB of broadcasts is disconnected; the publisher is never
// blocked and a well-behaved member of the same room gets every broadcast
// exactly once, in order.
func TestSocketIONeverReads(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	rss0 := s.rssKiB(t)
	_ = sioWS(t, s, smallBufDialer(0)) // never read again
	good := sioWS(t, s, nil)
	stopRSS := rssSampler(t, s)

	const n, size = 120, 250_000
	data := strings.Repeat("x", size)
	got := make(chan []int, 1)
	go func() { // the well-behaved member
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var seqs []int
		for len(seqs) < n {
			_, b, err := good.Read(ctx)
			if err != nil {
				break
			}
			m := string(b)
			if m == "2" {
				_ = good.Write(ctx, websocket.TextMessage, []byte("3"))
				continue
			}
			var seq int
			if _, err := fmt.Sscanf(m, `42["big",{"seq":%d`, &seq); err == nil {
				seqs = append(seqs, seq)
			}
		}
		got <- seqs
	}()
	var slowest time.Duration
	for i := range n {
		body := fmt.Sprintf(`{"room":"slow","event":"big","data":{"seq":%d,"pad":%q}}`, i, data)
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/publish", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		slowest = max(slowest, time.Since(t0))
		if resp.StatusCode != 200 {
			t.Fatalf("publish %d: %s", i, resp.Status)
		}
	}
	seqs := <-got
	peak := stopRSS()
	t.Logf("published %d × %d B; slowest publish %v; server RSS %d KiB before, peak %d KiB", n, size, slowest.Round(time.Microsecond), rss0, peak)
	if len(seqs) != n {
		t.Fatalf("well-behaved member got %d of %d broadcasts", len(seqs), n)
	}
	for i, v := range seqs {
		if v != i {
			t.Fatalf("well-behaved member got broadcast %d at position %d", v, i)
		}
	}
	if slowest > probeTimeout {
		t.Errorf("a publish took %v: the slow consumer blocked the room", slowest)
	}
	waitFor(t, 10*time.Second, "the non-reading member was not disconnected", func() bool {
		return metric(t, s, "switchboard_engineio_sessions") == 1
	})
	if bound := rss0 + 2*(4<<10+2*size>>10) + 64<<10; peak > bound {
		t.Errorf("server RSS peaked at %d KiB, above the %d KiB bound", peak, bound)
	}
	mustProbe(t, s, "after the Socket.IO slow consumer")
}

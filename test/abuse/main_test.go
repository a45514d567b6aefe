// Package abuse runs the switchboard binary and attacks it over loopback:
// connection floods, slowloris handshakes, clients that never read,
// oversized and malformed input on every protocol. After (and during) each
// attack a well-behaved client must still be served; its latency is logged.
package abuse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/leakcheck"
	"github.com/switchboard/switchboard/websocket"
)

// binPath is the switchboard binary built once for the package.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "abuse")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "switchboard")
		if b := os.Getenv("ABUSE_SWITCHBOARD_BIN"); b != "" { // test another build
			binPath = b
			return leakcheck.Run(m)
		}
		if out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/switchboard").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		return leakcheck.Run(m)
	}())
}

// server is one running switchboard process.
type server struct {
	addr, turn string // HTTP and TURN listeners
	cmd        *exec.Cmd
	exited     chan struct{}
	logs       *lockedBuf
	dumped     bool // stopped by dump: its exit is expected
}

// dump asks the server for its goroutine stacks (SIGQUIT; the Go runtime
// prints them and exits) and returns its log, for a failure report.
func (s *server) dump() string {
	s.dumped = true
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	return s.logs.String()
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs the binary on free loopback ports with --echo and
// --api-key k. It is killed by its PID when the test ends; a crash (exit
// before that) fails the test with the server's log.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), turn: freeAddr(t), exited: make(chan struct{}), logs: &lockedBuf{}}
	args := append([]string{"--listen", s.addr, "--turn-listen", s.turn, "--echo", "--api-key", "k", "--log-level", "warn"}, extra...)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
			if !s.dumped {
				t.Errorf("server exited during the test: %v\n%s", s.cmd.ProcessState, s.logs)
			}
			return
		default:
		}
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// alive fails the test if the server process has exited.
func (s *server) alive(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("server crashed: %v\n%s", s.cmd.ProcessState, s.logs)
	default:
	}
}

// rssKiB reads the server's resident set from /proc.
func (s *server) rssKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// fds counts the server's open file descriptors.
func (s *server) fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The TURN listener also binds UDP on the same port.
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		return freeAddr(t)
	}
	pc.Close()
	return ln.Addr().String()
}

// sources are the loopback addresses attack sockets are spread over, so that
// per-address limits and ephemeral ports do not decide the outcome.
var sources = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"}

func dialFrom(i int, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(sources[i%len(sources)])}}
	return d.Dial("tcp", addr)
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- the well-behaved client ----

// probeTimeout is the sanity bound on each step of a well-behaved visit, however
// loaded the machine: far above any real latency, far below "stuck".
const probeTimeout = 5 * time.Second

// probe is one well-behaved client's visit: an echo round trip on a new
// WebSocket, a Socket.IO polling handshake, and a signaling join. It
// returns each step's latency.
func probe(addr string) (echo, polling, join time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	t0 := time.Now()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("echo dial: %w", err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.TextMessage, []byte("probe")); err != nil {
		return 0, 0, 0, fmt.Errorf("echo write: %w", err)
	}
	if _, b, err := ws.Read(ctx); err != nil || string(b) != "probe" {
		return 0, 0, 0, fmt.Errorf("echo read: %q %v", b, err)
	}
	echo = time.Since(t0)

	ctx, cancel = context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	t0 = time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/socket.io/?EIO=4&transport=polling", nil)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return echo, 0, 0, fmt.Errorf("polling handshake: %w", err)
	}
	var body [256]byte
	n, _ := resp.Body.Read(body[:])
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body[:n]), `0{"sid":`) {
		return echo, 0, 0, fmt.Errorf("polling handshake: %d %q", resp.StatusCode, body[:n])
	}
	polling = time.Since(t0)

	ctx, cancel = context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	t0 = time.Now()
	sig, _, err := websocket.Dial(ctx, "ws://"+addr+"/signal", nil)
	if err != nil {
		return echo, polling, 0, fmt.Errorf("signal dial: %w", err)
	}
	defer sig.CloseNow()
	if err := sig.Write(ctx, websocket.TextMessage, []byte(`{"type":"join","room":"probe-`+strconv.FormatInt(time.Now().UnixNano(), 36)+`","name":"probe"}`)); err != nil {
		return echo, polling, 0, fmt.Errorf("signal write: %w", err)
	}
	if _, b, err := sig.Read(ctx); err != nil || !strings.Contains(string(b), `"type":"joined"`) {
		return echo, polling, 0, fmt.Errorf("signal join: %q %v", b, err)
	}
	join = time.Since(t0)
	return echo, polling, join, nil
}

// mustProbe runs one probe and fails the test if it does not complete.
func mustProbe(t *testing.T, s *server, when string) {
	t.Helper()
	s.alive(t)
	e, p, j, err := probe(s.addr)
	if err != nil && strings.Contains(err.Error(), "connection reset") {
		// Open finding 6 in docs/soak.md: a fresh connection is now and
		// then reset, cause not found yet. One retry keeps that from
		// failing CI at random; a server that keeps resetting still fails.
		t.Logf("well-behaved client %s: %v (known open finding 6; retrying once)", when, err)
		e, p, j, err = probe(s.addr)
	}
	if err != nil {
		t.Fatalf("well-behaved client %s: %v", when, err)
	}
	t.Logf("well-behaved client %s: echo %v, polling handshake %v, signaling join %v", when, e.Round(time.Microsecond), p.Round(time.Microsecond), j.Round(time.Microsecond))
}

// prober runs probes back to back during an attack and records their
// latencies; stop returns the summary and fails the test if any probe
// failed.
type prober struct {
	t       *testing.T
	s       *server
	stopCh  chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	lat     [3][]time.Duration
	errs    []string
	started time.Time
}

func startProber(t *testing.T, s *server) *prober {
	p := &prober{t: t, s: s, stopCh: make(chan struct{}), done: make(chan struct{}), started: time.Now()}
	go func() {
		defer close(p.done)
		for {
			e, pl, j, err := probe(s.addr)
			p.mu.Lock()
			if err != nil {
				p.errs = append(p.errs, fmt.Sprintf("%.1fs: %v", time.Since(p.started).Seconds(), err))
			} else {
				p.lat[0] = append(p.lat[0], e)
				p.lat[1] = append(p.lat[1], pl)
				p.lat[2] = append(p.lat[2], j)
			}
			p.mu.Unlock()
			select {
			case <-p.stopCh:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *prober) stop(what string) {
	p.t.Helper()
	close(p.stopCh)
	<-p.done
	for i, name := range []string{"echo round trip", "polling handshake", "signaling join"} {
		l := p.lat[i]
		if len(l) == 0 {
			continue
		}
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
		p.t.Logf("during %s: well-behaved %s: n=%d p50 %v p99 %v max %v", what, name, len(l),
			l[len(l)/2].Round(time.Microsecond), l[len(l)*99/100].Round(time.Microsecond), l[len(l)-1].Round(time.Microsecond))
	}
	if len(p.errs) > 0 {
		p.t.Errorf("during %s: %d of %d well-behaved probes failed: %s", what, len(p.errs), len(p.errs)+len(p.lat[0]), strings.Join(p.errs[:min(5, len(p.errs))], "; "))
	}
	if len(p.lat[0]) == 0 {
		p.t.Errorf("during %s: no well-behaved probe completed", what)
	}
}

// ---- raw WebSocket ----

// rawWS opens a WebSocket to path by hand, so that the test can send
// anything it likes afterwards.
func rawWS(t *testing.T, addr, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade %s: %s", path, resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	return c, br
}

// frame encodes a client frame. mask=false sends it unmasked (a protocol
// error from a client).
func frame(fin bool, rsv, op byte, payload []byte, mask bool) []byte {
	b0 := op | rsv<<4
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	mbit := byte(0)
	if mask {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, mbit|byte(n))
	case n < 1<<16:
		out = append(out, mbit|126, byte(n>>8), byte(n))
	default:
		out = append(out, mbit|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if !mask {
		return append(out, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

// readClose reads server frames until a Close and returns its status code
// (1005 for an empty Close); -1 if the connection ended without one.
func readClose(c net.Conn, br *bufio.Reader, d time.Duration) int {
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	for {
		var h [2]byte
		if _, err := ioReadFull(br, h[:]); err != nil {
			return -1
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := ioReadFull(br, e[:]); err != nil {
				return -1
			}
			n = int(e[0])<<8 | int(e[1])
		case 127:
			var e [8]byte
			if _, err := ioReadFull(br, e[:]); err != nil {
				return -1
			}
			n = 0
			for _, x := range e[4:] {
				n = n<<8 | int(x)
			}
		}
		p := make([]byte, n)
		if _, err := ioReadFull(br, p); err != nil {
			return -1
		}
		if h[0]&0x0f == 0x8 {
			if n < 2 {
				return 1005
			}
			return int(p[0])<<8 | int(p[1])
		}
	}
}

func ioReadFull(br *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := br.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// closedByPeer reports whether the server has closed c (EOF or reset within
// d), reading and discarding anything it still sends.
func closedByPeer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 32<<10)
	for {
		_, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			return !(errorsAs(err, &ne) && ne.Timeout())
		}
	}
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

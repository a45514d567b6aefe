// Package turninterop runs coturn's client tools (Debian package coturn:
// turnutils_stunclient, turnutils_uclient, turnutils_peer) against the turn
// package's server, in-process, on loopback. Without the tools the tests
// skip, except under CI=true, where they fail.
package turninterop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/turn"
)

func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI (Debian package coturn): %v", b, err)
			}
			t.Skipf("%s not installed (Debian package coturn)", b)
		}
	}
}

// freePort returns a loopback port free for both UDP and TCP right now.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

type server struct {
	*turn.Server
	port, tlsPort int
}

const (
	realm  = "interop"
	secret = "rest-secret"
)

// startServer serves cfg on 127.0.0.1 over UDP (SO_REUSEPORT sockets), TCP
// and TLS.
func startServer(t *testing.T, cfg turn.Config) *server {
	t.Helper()
	cfg.Realm = realm
	cfg.Secret = secret
	cfg.Users = map[string]string{"alice": "secret"}
	cfg.RelayIP = netip.MustParseAddr("127.0.0.1")
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := turn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{Server: s}
	errc := make(chan error, 3)
	var ln, tln net.Listener
	for i := 0; ; i++ {
		srv.port = freePort(t)
		if ln, err = net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", srv.port)); err == nil {
			break
		}
		if i > 10 {
			t.Fatal(err)
		}
	}
	go func() { errc <- s.ServeUDP(fmt.Sprintf("127.0.0.1:%d", srv.port)) }()
	go func() { errc <- s.ServeTCP(ln) }()
	tln, err = net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.tlsPort = tln.Addr().(*net.TCPAddr).Port
	go func() {
		errc <- s.ServeTCP(tls.NewListener(tln, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}))
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		for i := 0; i < 3; i++ {
			if err := <-errc; err != turn.ErrServerClosed {
				t.Errorf("serve: %v", err)
			}
		}
	})
	// Wait until the UDP sockets answer a Binding request.
	waitBinding(t, srv.port)
	return srv
}

func waitBinding(t *testing.T, port int) {
	t.Helper()
	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && n >= 20 && buf[0] == 0x01 && buf[1] == 0x01 {
			return
		}
	}
	t.Fatal("server does not answer Binding requests")
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// startPeer runs turnutils_peer, coturn's UDP echo peer, on 127.0.0.1.
func startPeer(t *testing.T) int {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command("turnutils_peer", "-L", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Dir = t.TempDir()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Poll until it echoes.
	c, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
			return port
		}
	}
	t.Fatal("turnutils_peer does not echo")
	return 0
}

// run runs a coturn tool with a deadline and returns its combined output
// and exit error.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out\n%s", name, strings.Join(args, " "), tail(out))
	}
	return string(out), err
}

func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

var (
	totalsRe = regexp.MustCompile(`tot_send_msgs=(\d+), tot_recv_msgs=(\d+)`)
	lostRe   = regexp.MustCompile(`Total lost packets (\d+)`)
)

// totals reads turnutils_uclient's final counters.
func totals(t *testing.T, out string) (sent, recv, lost int) {
	t.Helper()
	m := totalsRe.FindAllStringSubmatch(out, -1)
	l := lostRe.FindStringSubmatch(out)
	if len(m) == 0 || l == nil {
		t.Fatalf("no totals in uclient output:\n%s", tail([]byte(out)))
	}
	last := m[len(m)-1]
	sent, _ = strconv.Atoi(last[1])
	recv, _ = strconv.Atoi(last[2])
	lost, _ = strconv.Atoi(l[1])
	return sent, recv, lost
}

func TestStunclient(t *testing.T) {
	need(t, "turnutils_stunclient")
	s := startServer(t, turn.Config{})
	out, err := run(t, 30*time.Second, "turnutils_stunclient", "-p", strconv.Itoa(s.port), "127.0.0.1")
	if err != nil || !strings.Contains(out, "UDP reflexive addr: 127.0.0.1:") {
		t.Fatalf("stunclient: %v\n%s", err, out)
	}
	if s.Stats().Bindings == 0 {
		t.Fatal("server counted no Binding request")
	}
}

func TestUclient(t *testing.T) {
	need(t, "turnutils_uclient", "turnutils_peer")
	s := startServer(t, turn.Config{AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	peer := strconv.Itoa(startPeer(t))
	port, tlsPort := strconv.Itoa(s.port), strconv.Itoa(s.tlsPort)
	static := []string{"-u", "alice", "-w", "secret"}
	rest := []string{"-u", "bob", "-W", secret} // uclient mints expiry:bob itself
	const clients, msgs = 2, 20
	udpAllocations := 0
	var received atomic.Int64
	for _, tc := range []struct {
		name  string
		flags []string
		creds []string
		port  string
	}{
		// Without -c, uclient also opens an RTCP allocation on the port its
		// RTP Allocate reserved (EVEN-PORT R=1, RESERVATION-TOKEN).
		{"udp rtp+rtcp reservation", []string{"-rtcp"}, static, port},
		{"tcp rtp+rtcp reservation", []string{"-rtcp", "-t"}, static, port},
		{"udp static", nil, static, port},
		{"udp rest", nil, rest, port},
		{"udp send indications", []string{"-s"}, static, port},
		{"udp dont-fragment", []string{"-g"}, static, port},
		{"tcp static", []string{"-t"}, static, port},
		{"tcp rest", []string{"-t"}, rest, port},
		{"tcp send indications", []string{"-t", "-s"}, static, port},
		{"tcp padded channels", []string{"-t", "-D"}, static, port},
		{"tls static", []string{"-t", "-S"}, static, tlsPort},
		{"tls rest", []string{"-t", "-S"}, rest, tlsPort},
	} {
		flags, rtcp := tc.flags, false
		if len(flags) > 0 && flags[0] == "-rtcp" {
			flags, rtcp = flags[1:], true
		} else {
			flags = append([]string{"-c"}, flags...)
		}
		if !strings.Contains(strings.Join(flags, " "), "-t") {
			udpAllocations += clients
			if rtcp {
				udpAllocations += clients
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // uclient spends most of its run waiting
			args := append([]string{"-n", strconv.Itoa(msgs), "-m", strconv.Itoa(clients), "-l", "160", "-z", "5",
				"-p", tc.port, "-e", "127.0.0.1", "-r", peer}, flags...)
			args = append(append(args, tc.creds...), "127.0.0.1")
			out, err := run(t, 60*time.Second, "turnutils_uclient", args...)
			if err != nil {
				t.Fatalf("uclient: %v\n%s", err, tail([]byte(out)))
			}
			sent, recv, lost := totals(t, out)
			if sent != clients*msgs {
				t.Fatalf("sent %d, want %d\n%s", sent, clients*msgs, tail([]byte(out)))
			}
			// Loopback UDP may in principle drop under load; streams may not.
			min := sent
			if !strings.Contains(strings.Join(flags, " "), "-t") {
				min = sent * 9 / 10
			}
			if recv < min {
				t.Fatalf("received %d of %d (lost %d)\n%s", recv, sent, lost, tail([]byte(out)))
			}
			received.Add(int64(recv))
		})
	}
	t.Cleanup(func() {
		// Runs after the parallel subtests. The server relayed at least
		// what came back, and a closed TCP/TLS connection ended its
		// allocation (uclient leaves most of its UDP ones to expire).
		st := s.Stats()
		if st.PacketsToPeers < uint64(received.Load()) || st.PacketsToClients < uint64(received.Load()) {
			t.Errorf("server relayed less than the clients received: %+v, received %d", st, received.Load())
		}
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Allocations > udpAllocations && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := s.Stats().Allocations; n > udpAllocations {
			t.Errorf("%d allocations left, want at most the %d UDP ones", n, udpAllocations)
		}
	})
}

func TestUclientNegative(t *testing.T) {
	need(t, "turnutils_uclient", "turnutils_peer")
	peer := strconv.Itoa(startPeer(t))
	base := func(port int) []string {
		return []string{"-c", "-n", "3", "-m", "1", "-l", "100", "-p", strconv.Itoa(port), "-e", "127.0.0.1", "-r", peer}
	}
	t.Run("wrong password", func(t *testing.T) {
		s := startServer(t, turn.Config{})
		out, err := run(t, 30*time.Second, "turnutils_uclient", append(base(s.port), "-u", "alice", "-w", "wrong", "127.0.0.1")...)
		if err == nil || !strings.Contains(out, "Cannot complete Allocation") {
			t.Fatalf("allocated with a wrong password: %v\n%s", err, tail([]byte(out)))
		}
		if s.Stats().AuthFailures == 0 || s.Stats().AllocationsTotal != 0 {
			t.Fatalf("stats %+v", s.Stats())
		}
	})
	t.Run("wrong rest secret", func(t *testing.T) {
		s := startServer(t, turn.Config{})
		out, err := run(t, 30*time.Second, "turnutils_uclient", append(base(s.port), "-u", "bob", "-W", "not-the-secret", "127.0.0.1")...)
		if err == nil || !strings.Contains(out, "Cannot complete Allocation") {
			t.Fatalf("allocated with a wrong REST secret: %v\n%s", err, tail([]byte(out)))
		}
	})
	t.Run("denied peer", func(t *testing.T) {
		// No AllowPeers: the loopback peer is refused with 403.
		s := startServer(t, turn.Config{})
		out, _ := run(t, 30*time.Second, "turnutils_uclient", append(base(s.port), "-u", "alice", "-w", "secret", "127.0.0.1")...)
		if !strings.Contains(out, "error 403") {
			t.Fatalf("no 403 for a loopback peer:\n%s", tail([]byte(out)))
		}
		if s.Stats().PacketsToPeers != 0 || s.Stats().DeniedPeers == 0 {
			t.Fatalf("stats %+v", s.Stats())
		}
	})
	t.Run("quota", func(t *testing.T) {
		s := startServer(t, turn.Config{UserQuota: 1, AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		args := base(s.port)
		args[4] = "3" // -m 3 clients for one user
		out, _ := run(t, 30*time.Second, "turnutils_uclient", append(args, "-u", "alice", "-w", "secret", "127.0.0.1")...)
		if !strings.Contains(out, "error 486") {
			t.Fatalf("no 486 past the quota:\n%s", tail([]byte(out)))
		}
	})
}

// TestUclientTCPRelay runs uclient with -T, TCP allocations (RFC 6062):
// it implies client-to-client mode (-y), so each client Connects to the
// relayed address of another, whose server side announces the incoming
// connection with a ConnectionAttempt indication; both bind data
// connections with ConnectionBind and the messages go through two relays.
func TestUclientTCPRelay(t *testing.T) {
	need(t, "turnutils_uclient")
	s := startServer(t, turn.Config{AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	port, tlsPort := strconv.Itoa(s.port), strconv.Itoa(s.tlsPort)
	const clients, msgs = 2, 20
	for _, tc := range []struct {
		name  string
		flags []string
		port  string
		// want is the share of the messages sent that uclient counts as
		// received, in percent.
		want int
	}{
		{"tcp", nil, port, 100},
		{"tls", []string{"-S"}, tlsPort, 100},
		// -P: the peer connects to the relayed address from outside TURN
		// (ConnectionAttempt only). uclient then counts only one
		// direction as received: coturn's own turnserver gives the same
		// 20 of 40 with these flags.
		{"passive", []string{"-P"}, port, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats()
			args := append([]string{"-T", "-n", strconv.Itoa(msgs), "-m", strconv.Itoa(clients), "-l", "160", "-z", "5",
				"-p", tc.port, "-u", "alice", "-w", "secret"}, tc.flags...)
			out, err := run(t, 60*time.Second, "turnutils_uclient", append(args, "127.0.0.1")...)
			if err != nil {
				t.Fatalf("uclient: %v\n%s", err, tail([]byte(out)))
			}
			sent, recv, lost := totals(t, out)
			if sent != clients*msgs || recv < sent*tc.want/100 {
				t.Fatalf("sent %d, received %d, lost %d; want %d sent and %d%% received\n%s", sent, recv, lost, clients*msgs, tc.want, tail([]byte(out)))
			}
			// What arrived crossed the server over data connections
			// only: no datagram was relayed.
			st := s.Stats()
			bytes := uint64(recv * 160)
			if st.AllocationsTotal-before.AllocationsTotal < clients || st.BytesToPeers-before.BytesToPeers < bytes ||
				st.BytesToClients-before.BytesToClients < bytes || st.PacketsToPeers != before.PacketsToPeers {
				t.Fatalf("server stats before %+v, after %+v: want %d TCP allocations and %d bytes each way", before, st, clients, bytes)
			}
		})
	}
	// uclient closed its connections: every allocation and peer
	// connection ends with them.
	deadline := time.Now().Add(10 * time.Second)
	for (s.Stats().Allocations != 0 || s.Stats().TCPConnections != 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.Stats(); st.Allocations != 0 || st.TCPConnections != 0 {
		t.Errorf("left after uclient exited: %d allocations, %d TCP connections", st.Allocations, st.TCPConnections)
	}
}

package turn

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// The lifetime of TCP and TLS client connections (stream.go): idle
// timeout, slowloris, and the connection ending with its allocation.

// closeBound is how long these tests wait for the server to close a
// connection: far above the short IdleTimeout they configure, so that a
// loaded machine cannot fail them, far below "never".
const closeBound = 20 * time.Second

// startStreamServer serves TCP and TLS on loopback with cfg (realm "test",
// user alice) and stops the server when the test ends.
func startStreamServer(t testing.TB, cfg Config) (s *Server, tcpAddr, tlsAddr string) {
	t.Helper()
	cfg.Realm = "test"
	cfg.Users = map[string]string{"alice": "secret", "bob": "pw"}
	cfg.RelayIP = netip.MustParseAddr("127.0.0.1")
	cfg.RelayLoops = 1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.ServeTCP(ln) }()
	go func() { errc <- s.ServeTCP(tln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		for i := 0; i < 2; i++ {
			if err := <-errc; err != ErrServerClosed {
				t.Errorf("serve returned %v", err)
			}
		}
	})
	return s, ln.Addr().String(), tln.Addr().String()
}

// streamClient speaks STUN over one TCP or TLS connection.
type streamClient struct {
	t     testing.TB
	c     net.Conn
	buf   []byte
	have  int
	nonce string
	tid   byte
	// user and pass sign requests; empty means alice's.
	user, pass string
}

func dialStream(t testing.TB, proto, addr string) *streamClient {
	t.Helper()
	var c net.Conn
	var err error
	if proto == "tls" {
		c, err = tls.Dial("tcp4", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp4", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &streamClient{t: t, c: c, buf: make([]byte, 2048)}
}

// read returns the next STUN message from the server.
func (sc *streamClient) read() (*stun.Message, error) {
	sc.c.SetReadDeadline(time.Now().Add(closeBound))
	for {
		if n, err := stun.FrameLength(sc.buf[:sc.have]); err == nil && n > 0 && n <= sc.have {
			var m stun.Message
			if err := m.Decode(append([]byte(nil), sc.buf[:n]...)); err != nil {
				return nil, err
			}
			sc.have = copy(sc.buf, sc.buf[n:sc.have])
			return &m, nil
		}
		n, err := sc.c.Read(sc.buf[sc.have:])
		sc.have += n
		if err != nil {
			return nil, err
		}
	}
}

// do sends a request (signed as alice once a nonce is known, learning
// one from a 401 first) and returns the response.
func (sc *streamClient) do(typ stun.Type, build func(*stun.Message)) *stun.Message {
	sc.t.Helper()
	resp, err := sc.try(typ, build)
	if err != nil {
		sc.t.Fatal(err)
	}
	return resp
}

// try is do returning errors.
func (sc *streamClient) try(typ stun.Type, build func(*stun.Message)) (*stun.Message, error) {
	for {
		sc.tid++
		var m stun.Message
		m.Reset(typ, stun.TransactionID{0xAB, sc.tid})
		if build != nil {
			build(&m)
		}
		if sc.nonce != "" {
			user, pass := sc.user, sc.pass
			if user == "" {
				user, pass = "alice", "secret"
			}
			m.AddString(stun.AttrUsername, user)
			m.AddString(stun.AttrRealm, "test")
			m.AddString(stun.AttrNonce, sc.nonce)
			key := stun.LongTermKey(user, "test", pass)
			m.AddIntegrity(key[:])
		}
		if _, err := sc.c.Write(m.Raw); err != nil {
			return nil, err
		}
		resp, err := sc.read()
		if err != nil {
			return nil, fmt.Errorf("reading the response to %v: %w", typ, err)
		}
		if code := errCode(resp); sc.nonce == "" && code == 401 {
			n, _ := resp.Get(stun.AttrNonce)
			sc.nonce = string(n)
			continue
		}
		return resp, nil
	}
}

func (sc *streamClient) allocate() {
	sc.t.Helper()
	if err := sc.tryAllocate(); err != nil {
		sc.t.Fatal(err)
	}
}

func (sc *streamClient) tryAllocate() error {
	resp, err := sc.try(allocateReq, udpTransport)
	if err != nil {
		return err
	}
	if code := errCode(resp); code != 0 {
		return fmt.Errorf("allocate: code %d", code)
	}
	return nil
}

func (sc *streamClient) tryBinding() error {
	resp, err := sc.try(stun.BindingRequest, nil)
	if err != nil {
		return err
	}
	if resp.Type != stun.BindingSuccess {
		return fmt.Errorf("binding: %v", resp.Type)
	}
	return nil
}

// dialAndSetUp dials and runs setUp (a Binding, an Allocate) on the new
// connection. With the short IdleTimeouts of these tests, a loaded machine
// may be slower to finish setUp than the server is to drop a connection
// that has not completed a message (which it may do); then it dials again,
// up to 10 times.
func dialAndSetUp(t *testing.T, proto, addr string, setUp func(*streamClient) error) *streamClient {
	t.Helper()
	for i := 0; ; i++ {
		sc := dialStream(t, proto, addr)
		err := setUp(sc)
		if err == nil {
			return sc
		}
		if i == 9 {
			t.Fatalf("set-up failed 10 times, last: %v", err)
		}
		t.Logf("set-up attempt %d: %v (dropped as idle before it completed; retrying)", i+1, err)
		sc.c.Close()
	}
}

// closedByServer reports whether the server closes the connection (EOF or
// reset) within closeBound, discarding anything it still sends.
func (sc *streamClient) closedByServer() bool {
	sc.c.SetReadDeadline(time.Now().Add(closeBound))
	var b [512]byte
	for {
		if _, err := sc.c.Read(b[:]); err != nil {
			return !errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
}

func waitAllocations(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(closeBound)
	for s.Stats().Allocations != n {
		if time.Now().After(deadline) {
			t.Fatalf("allocations: %d, want %d", s.Stats().Allocations, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamIdleClosed(t *testing.T) {
	_, tcpAddr, tlsAddr := startStreamServer(t, Config{IdleTimeout: 50 * time.Millisecond})
	for _, tc := range []struct{ name, proto, addr string }{
		{"tcp", "tcp", tcpAddr},
		{"tls", "tls", tlsAddr},
		// A TCP connection to the TLS port that never starts the handshake.
		{"tls-no-handshake", "tcp", tlsAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := dialStream(t, tc.proto, tc.addr)
			if !sc.closedByServer() {
				t.Fatalf("a silent connection is still open after %v", closeBound)
			}
		})
		t.Run(tc.name+"-after-binding", func(t *testing.T) {
			if tc.name == "tls-no-handshake" {
				t.Skip("cannot send a Binding request without the handshake")
			}
			sc := dialAndSetUp(t, tc.proto, tc.addr, (*streamClient).tryBinding)
			if !sc.closedByServer() {
				t.Fatalf("a connection idle after a Binding is still open after %v", closeBound)
			}
		})
	}
}

// TestStreamSlowloris: a message started and never finished closes the
// connection, with or without an allocation.
func TestStreamSlowloris(t *testing.T) {
	s, tcpAddr, tlsAddr := startStreamServer(t, Config{IdleTimeout: 50 * time.Millisecond})
	var m stun.Message
	m.Reset(stun.BindingRequest, stun.TransactionID{1})
	m.AddString(stun.AttrSoftware, "slowloris")
	partial := m.Raw[:len(m.Raw)-3]
	for _, tc := range []struct{ proto, addr string }{{"tcp", tcpAddr}, {"tls", tlsAddr}} {
		for _, allocated := range []bool{false, true} {
			name := tc.proto
			if allocated {
				name += "-allocated"
			}
			t.Run(name, func(t *testing.T) {
				var sc *streamClient
				if allocated {
					sc = dialAndSetUp(t, tc.proto, tc.addr, (*streamClient).tryAllocate)
				} else {
					sc = dialStream(t, tc.proto, tc.addr)
				}
				if _, err := sc.c.Write(partial); err != nil {
					t.Fatal(err)
				}
				if !sc.closedByServer() {
					t.Fatalf("a connection holding a partial message is still open after %v", closeBound)
				}
				waitAllocations(t, s, 0)
			})
		}
	}
}

// TestStreamAllocationOutlivesIdle: a connection with an allocation is not
// an idle one, however long it is silent; its allocation still works
// after many idle timeouts.
func TestStreamAllocationOutlivesIdle(t *testing.T) {
	idle := 50 * time.Millisecond
	_, tcpAddr, tlsAddr := startStreamServer(t, Config{IdleTimeout: idle})
	for _, tc := range []struct{ proto, addr string }{{"tcp", tcpAddr}, {"tls", tlsAddr}} {
		t.Run(tc.proto, func(t *testing.T) {
			sc := dialAndSetUp(t, tc.proto, tc.addr, (*streamClient).tryAllocate)
			time.Sleep(10 * idle) // not a timing assertion: any sleep must pass
			resp := sc.do(refreshReq, func(m *stun.Message) { m.AddUint32(stun.AttrLifetime, 600) })
			if code := errCode(resp); code != 0 {
				t.Fatalf("refresh after silence: code %d", code)
			}
		})
	}
}

// TestStreamAllocationDeleted: a Refresh with LIFETIME 0 is answered, then
// the connection closes with its allocation (RFC 8656 §3.2).
func TestStreamAllocationDeleted(t *testing.T) {
	s, tcpAddr, tlsAddr := startStreamServer(t, Config{})
	for _, tc := range []struct{ proto, addr string }{{"tcp", tcpAddr}, {"tls", tlsAddr}} {
		t.Run(tc.proto, func(t *testing.T) {
			sc := dialStream(t, tc.proto, tc.addr)
			sc.allocate()
			resp := sc.do(refreshReq, func(m *stun.Message) { m.AddUint32(stun.AttrLifetime, 0) })
			if code := errCode(resp); code != 0 {
				t.Fatalf("refresh 0: code %d", code)
			}
			if !sc.closedByServer() {
				t.Fatalf("the connection is still open %v after its allocation was deleted", closeBound)
			}
			waitAllocations(t, s, 0)
		})
	}
}

// TestStreamAllocationExpired: when the allocation expires (the janitor's
// sweep under a fake clock) its connection closes.
func TestStreamAllocationExpired(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s, tcpAddr, tlsAddr := startStreamServer(t, Config{Now: clock})
	for _, tc := range []struct{ proto, addr string }{{"tcp", tcpAddr}, {"tls", tlsAddr}} {
		t.Run(tc.proto, func(t *testing.T) {
			sc := dialStream(t, tc.proto, tc.addr)
			sc.allocate()
			waitAllocations(t, s, 1)
			mu.Lock()
			now = now.Add(defaultLifetime + time.Second)
			mu.Unlock()
			if !sc.closedByServer() {
				t.Fatalf("the connection is still open %v after its allocation expired", closeBound)
			}
			waitAllocations(t, s, 0)
		})
	}
}

// TestStreamClientCloseReleases: the client closing its connection deletes
// the allocation (RFC 8656 §3.1), as before.
func TestStreamClientCloseReleases(t *testing.T) {
	s, tcpAddr, _ := startStreamServer(t, Config{})
	sc := dialStream(t, "tcp", tcpAddr)
	sc.allocate()
	waitAllocations(t, s, 1)
	sc.c.Close()
	waitAllocations(t, s, 0)
}

// TestStreamResets: clients that pipeline requests and vanish with a TCP
// reset make the server's writes fail inside its reader (plain TCP handles
// messages inside the RawConn.Read callback, where closing the connection
// would deadlock) and in its writer goroutines. The server must take each
// down, keep serving, and shut down within the test's bound.
func TestStreamResets(t *testing.T) {
	_, tcpAddr, tlsAddr := startStreamServer(t, Config{})
	var m stun.Message
	m.Reset(stun.BindingRequest, stun.TransactionID{3})
	m.AddString(stun.AttrSoftware, string(make([]byte, 400)))
	burst := bytes.Repeat(m.Raw, 200) // ~100 KiB of responses to write
	for _, tc := range []struct{ proto, addr string }{{"tcp", tcpAddr}, {"tls", tlsAddr}} {
		t.Run(tc.proto, func(t *testing.T) {
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				sc := dialStream(t, tc.proto, tc.addr)
				tcp, _ := sc.c.(*net.TCPConn)
				if tc.proto == "tls" {
					tcp, _ = sc.c.(*tls.Conn).NetConn().(*net.TCPConn)
				}
				tcp.SetReadBuffer(4096)
				wg.Add(1)
				go func() {
					defer wg.Done()
					sc.c.Write(burst)
					tcp.SetLinger(0)
					sc.c.Close()
				}()
			}
			wg.Wait()
			sc := dialStream(t, tc.proto, tc.addr)
			if resp := sc.do(stun.BindingRequest, nil); resp.Type != stun.BindingSuccess {
				t.Fatalf("binding after the resets: %v", resp.Type)
			}
		})
	}
}

// TestStreamShutdownWhileFlooded: Shutdown closes a plain TCP connection
// whose client never stops sending (the reader must leave its
// RawConn.Read callback for Close to complete).
func TestStreamShutdownWhileFlooded(t *testing.T) {
	s, tcpAddr, _ := startStreamServer(t, Config{})
	var m stun.Message
	m.Reset(stun.BindingRequest, stun.TransactionID{4})
	burst := bytes.Repeat(m.Raw, 1000)
	sc := dialStream(t, "tcp", tcpAddr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc.c.SetWriteDeadline(time.Now().Add(closeBound))
		for i := 0; i < 100_000; i++ { // bounded; ends when the server closes
			if _, err := sc.c.Write(burst); err != nil {
				return
			}
		}
	}()
	if resp := dialStream(t, "tcp", tcpAddr).do(stun.BindingRequest, nil); resp.Type != stun.BindingSuccess {
		t.Fatalf("binding beside the flood: %v", resp.Type)
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeBound)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown while a client floods: %v", err)
	}
	sc.c.Close()
	<-done
}

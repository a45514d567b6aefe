package turn

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// TCP allocations (RFC 6062) with real TCP peers on 127.0.0.1.

var (
	connectReq     = stun.Type{Method: stun.MethodConnect, Class: stun.ClassRequest}
	connBindReq    = stun.Type{Method: stun.MethodConnectionBind, Class: stun.ClassRequest}
	connAttemptInd = stun.Type{Method: stun.MethodConnectionAttempt, Class: stun.ClassIndication}
	loopbackPeers  = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
)

func tcpTransport(m *stun.Message) { m.AddRequestedTransport(stun.ProtoTCP) }

// tcpAllocate allocates a TCP relay on sc's connection and returns the
// relayed transport address.
func (sc *streamClient) tcpAllocate() netip.AddrPort {
	sc.t.Helper()
	resp := sc.do(allocateReq, tcpTransport)
	if code := errCode(resp); code != 0 {
		sc.t.Fatalf("TCP Allocate: code %d", code)
	}
	relay, err := resp.GetXORAddress(stun.AttrXORRelayedAddress)
	if err != nil {
		sc.t.Fatal(err)
	}
	return relay
}

func (sc *streamClient) permit(ip netip.Addr) {
	sc.t.Helper()
	resp := sc.do(permReq, func(m *stun.Message) {
		m.AddXORAddress(stun.AttrXORPeerAddress, netip.AddrPortFrom(ip, 1))
	})
	if code := errCode(resp); code != 0 {
		sc.t.Fatalf("CreatePermission: code %d", code)
	}
}

// connect sends Connect for peer and returns the error code (0 for
// success) and the CONNECTION-ID.
func (sc *streamClient) connect(peer netip.AddrPort) (int, uint32) {
	sc.t.Helper()
	resp := sc.do(connectReq, func(m *stun.Message) { m.AddXORAddress(stun.AttrXORPeerAddress, peer) })
	code := errCode(resp)
	if code != 0 {
		return code, 0
	}
	v, ok := resp.Get(stun.AttrConnectionID)
	id, err := stun.ConnectionID(v)
	if !ok || err != nil {
		sc.t.Fatalf("Connect success without a valid CONNECTION-ID: %v", err)
	}
	key := stun.LongTermKey("alice", "test", "secret")
	if err := resp.CheckIntegrity(key[:]); err != nil {
		sc.t.Fatalf("Connect response integrity: %v", err)
	}
	return 0, id
}

// bind opens a new connection to addr and sends ConnectionBind for id on
// it; it returns the error code and the connection, which after success
// carries raw data (read it with dataConn).
func bind(t *testing.T, proto, addr string, id uint32, withID bool) (int, *streamClient) {
	t.Helper()
	sc := dialStream(t, proto, addr)
	resp := sc.do(connBindReq, func(m *stun.Message) {
		if withID {
			m.AddConnectionID(id)
		}
	})
	return errCode(resp), sc
}

// data returns sc's connection as a raw byte stream, starting with any
// bytes read past the last STUN message.
func (sc *streamClient) data() io.ReadWriter {
	sc.c.SetReadDeadline(time.Now().Add(closeBound))
	return struct {
		io.Reader
		io.Writer
	}{io.MultiReader(bytes.NewReader(append([]byte(nil), sc.buf[:sc.have]...)), sc.c), sc.c}
}

// tcpPeer is a TCP listener on 127.0.0.1 standing for a peer.
type tcpPeer struct {
	ln    *net.TCPListener
	addr  netip.AddrPort
	conns chan *net.TCPConn
}

func newTCPPeer(t *testing.T) *tcpPeer {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpPeer{ln: ln, addr: ln.Addr().(*net.TCPAddr).AddrPort(), conns: make(chan *net.TCPConn, 8)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			select {
			case p.conns <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(p.conns)
		for c := range p.conns {
			c.Close()
		}
	})
	return p
}

func (p *tcpPeer) accept(t *testing.T) *net.TCPConn {
	t.Helper()
	select {
	case c := <-p.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(closeBound):
		t.Fatal("the server did not connect to the peer")
		return nil
	}
}

func readFull(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	if c, ok := r.(net.Conn); ok {
		c.SetReadDeadline(time.Now().Add(closeBound))
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

// closed reports whether c is closed by the other side within closeBound.
func closed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(closeBound))
	var b [4096]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			return !errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
}

func waitTCPConns(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(closeBound)
	for s.Stats().TCPConnections != n {
		if time.Now().After(deadline) {
			t.Fatalf("TCP connections: %d, want %d", s.Stats().TCPConnections, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exchange checks data both ways between a bound client data connection
// and its peer, with a transfer larger than every buffer on the way in
// each direction at once.
func exchange(t *testing.T, client io.ReadWriter, peer net.Conn) {
	t.Helper()
	if _, err := client.Write([]byte("hello peer")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, peer, 10); string(got) != "hello peer" {
		t.Fatalf("peer got %q", got)
	}
	if _, err := peer.Write([]byte("hello client")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, client, 12); string(got) != "hello client" {
		t.Fatalf("client got %q", got)
	}
	const size = 4 << 20
	up, down := make([]byte, size), make([]byte, size)
	rand.Read(up)
	rand.Read(down)
	var wg sync.WaitGroup
	var upErr, downErr error
	wg.Add(2)
	go func() { defer wg.Done(); _, upErr = client.Write(up) }()
	go func() { defer wg.Done(); _, downErr = peer.Write(down) }()
	gotUp := make([]byte, size)
	peer.SetReadDeadline(time.Now().Add(closeBound))
	errc := make(chan error, 1)
	go func() { _, err := io.ReadFull(peer, gotUp); errc <- err }()
	if c, ok := client.(net.Conn); ok {
		c.SetReadDeadline(time.Now().Add(closeBound))
	}
	gotDown := make([]byte, size)
	_, err := io.ReadFull(client, gotDown)
	if perr := <-errc; err != nil || perr != nil {
		t.Fatalf("bulk transfer: client read %v, peer read %v", err, perr)
	}
	wg.Wait()
	if upErr != nil || downErr != nil {
		t.Fatalf("bulk writes: %v, %v", upErr, downErr)
	}
	if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
		t.Fatal("bulk data corrupted")
	}
}

// Connect (RFC 6062 §5.2) then ConnectionBind (§5.4): the peer sees a
// connection from the relayed address, data sent by the peer before the
// bind arrives first, then data flows both ways; closing the client data
// connection closes the peer's.
func TestTCPAllocationConnect(t *testing.T) {
	s, tcpAddr, tlsAddr := startStreamServer(t, Config{AllowPeers: loopbackPeers})
	for _, tc := range []struct{ name, proto, addr string }{
		{"tcp", "tcp", tcpAddr},
		{"tls", "tls", tlsAddr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := newTCPPeer(t)
			ctl := dialStream(t, tc.proto, tc.addr)
			relay := ctl.tcpAllocate()
			code, id := ctl.connect(peer.addr)
			if code != 0 {
				t.Fatalf("Connect: code %d", code)
			}
			pc := peer.accept(t)
			if got := pc.RemoteAddr().(*net.TCPAddr).AddrPort(); got != relay {
				t.Fatalf("peer sees %v, want the relayed address %v", got, relay)
			}
			// Sent before the bind: the server holds it for the client.
			if _, err := pc.Write([]byte("early")); err != nil {
				t.Fatal(err)
			}
			waitTCPConns(t, s, 1)
			code, dc := bind(t, tc.proto, tc.addr, id, true)
			if code != 0 {
				t.Fatalf("ConnectionBind: code %d", code)
			}
			data := dc.data()
			if got := readFull(t, data, 5); string(got) != "early" {
				t.Fatalf("client got %q, want the early bytes", got)
			}
			exchange(t, data, pc)
			// A second bind of the same id is refused.
			if code, _ := bind(t, tc.proto, tc.addr, id, true); code != 400 {
				t.Fatalf("second ConnectionBind: code %d, want 400", code)
			}
			dc.c.Close()
			if !closed(pc) {
				t.Fatal("peer data connection outlived the client's")
			}
			waitTCPConns(t, s, 0)
			// The control connection and its allocation live on. (Another
			// peer: the server closed the first connection, so its
			// 4-tuple is in TIME_WAIT for a while.)
			peer2 := newTCPPeer(t)
			if code, _ := ctl.connect(peer2.addr); code != 0 {
				t.Fatalf("Connect after the first pair closed: code %d", code)
			}
			pc = peer2.accept(t)
			// Pending: the server does not read the peer before the
			// bind, so it holds the connection until the bind timeout.
			pc.Close()
			waitTCPConns(t, s, 1)
		})
	}
}

// A peer connecting to the relayed address (RFC 6062 §5.3): without a
// permission it is closed; with one the client gets a ConnectionAttempt
// indication and binds to it.
func TestTCPAllocationConnectionAttempt(t *testing.T) {
	s, tcpAddr, _ := startStreamServer(t, Config{AllowPeers: loopbackPeers})
	ctl := dialStream(t, "tcp", tcpAddr)
	relay := ctl.tcpAllocate()

	pc, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(relay))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if !closed(pc) {
		t.Fatal("a peer without a permission was not closed")
	}
	if s.Stats().TCPConnections != 0 {
		t.Fatal("refused peer counted")
	}

	ctl.permit(netip.MustParseAddr("127.0.0.1"))
	pc, err = net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(relay))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ind, err := ctl.read()
	if err != nil {
		t.Fatal(err)
	}
	if ind.Type != connAttemptInd {
		t.Fatalf("got %v, want a ConnectionAttempt indication", ind.Type)
	}
	from, err := ind.GetXORAddress(stun.AttrXORPeerAddress)
	if want := pc.LocalAddr().(*net.TCPAddr).AddrPort(); err != nil || from != want {
		t.Fatalf("XOR-PEER-ADDRESS %v %v, want %v", from, err, want)
	}
	v, _ := ind.Get(stun.AttrConnectionID)
	id, err := stun.ConnectionID(v)
	if err != nil {
		t.Fatal(err)
	}
	code, dc := bind(t, "tcp", tcpAddr, id, true)
	if code != 0 {
		t.Fatalf("ConnectionBind: code %d", code)
	}
	exchange(t, dc.data(), pc)
	// The peer closes: the client data connection closes too.
	pc.Close()
	if !closed(dc.c) {
		t.Fatal("client data connection outlived the peer's")
	}
	waitTCPConns(t, s, 0)
}

// Connect's errors (RFC 6062 §5.2): 403 for a denied peer, 447 for a
// refused port, 446 for a second Connect to the same peer, 486 past
// MaxTCPConnections; ConnectionBind (§5.4) with an unknown or missing
// CONNECTION-ID, or on the control connection, is 400.
func TestTCPAllocationErrors(t *testing.T) {
	t.Run("denied peer", func(t *testing.T) {
		s, tcpAddr, _ := startStreamServer(t, Config{}) // loopback denied
		peer := newTCPPeer(t)
		ctl := dialStream(t, "tcp", tcpAddr)
		ctl.tcpAllocate()
		if code, _ := ctl.connect(peer.addr); code != 403 {
			t.Fatalf("Connect to a denied peer: code %d, want 403", code)
		}
		select {
		case <-peer.conns:
			t.Fatal("the server connected to a denied peer")
		default:
		}
		if s.Stats().DeniedPeers == 0 {
			t.Fatal("not counted as denied")
		}
	})
	s, tcpAddr, _ := startStreamServer(t, Config{AllowPeers: loopbackPeers, MaxTCPConnections: 2})
	t.Run("refused port", func(t *testing.T) {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := ln.Addr().(*net.TCPAddr).AddrPort()
		ln.Close()
		ctl := dialStream(t, "tcp", tcpAddr)
		ctl.tcpAllocate()
		if code, _ := ctl.connect(refused); code != 447 {
			t.Fatalf("Connect to a closed port: code %d, want 447", code)
		}
	})
	t.Run("duplicate and cap", func(t *testing.T) {
		p1, p2, p3 := newTCPPeer(t), newTCPPeer(t), newTCPPeer(t)
		ctl := dialStream(t, "tcp", tcpAddr)
		ctl.tcpAllocate()
		if code, _ := ctl.connect(p1.addr); code != 0 {
			t.Fatalf("Connect: code %d", code)
		}
		if code, _ := ctl.connect(p1.addr); code != 446 {
			t.Fatalf("second Connect to a pending peer: code %d, want 446", code)
		}
		if code, _ := ctl.connect(p2.addr); code != 0 {
			t.Fatalf("Connect: code %d", code)
		}
		quota := s.Stats().QuotaRejections
		if code, _ := ctl.connect(p3.addr); code != 486 {
			t.Fatalf("Connect past MaxTCPConnections: code %d, want 486", code)
		}
		if s.Stats().QuotaRejections != quota+1 {
			t.Fatal("not counted as a quota rejection")
		}
	})
	t.Run("bind errors", func(t *testing.T) {
		peer := newTCPPeer(t)
		ctl := dialStream(t, "tcp", tcpAddr)
		ctl.tcpAllocate()
		code, id := ctl.connect(peer.addr)
		if code != 0 {
			t.Fatalf("Connect: code %d", code)
		}
		if code, _ := bind(t, "tcp", tcpAddr, id+1, true); code != 400 {
			t.Fatalf("ConnectionBind with an unknown id: code %d, want 400", code)
		}
		if code, _ := bind(t, "tcp", tcpAddr, 0, false); code != 400 {
			t.Fatalf("ConnectionBind without CONNECTION-ID: code %d, want 400", code)
		}
		bob := dialStream(t, "tcp", tcpAddr)
		bob.user, bob.pass = "bob", "pw"
		resp := bob.do(connBindReq, func(m *stun.Message) { m.AddConnectionID(id) })
		if code := errCode(resp); code != 441 {
			t.Fatalf("ConnectionBind by another user: code %d, want 441", code)
		}
		resp = ctl.do(connBindReq, func(m *stun.Message) { m.AddConnectionID(id) })
		if code := errCode(resp); code != 400 {
			t.Fatalf("ConnectionBind on the control connection: code %d, want 400", code)
		}
		// The connection is still pending and binds.
		if code, _ := bind(t, "tcp", tcpAddr, id, true); code != 0 {
			t.Fatalf("ConnectionBind: code %d", code)
		}
	})
}

// Deleting the allocation (Refresh with LIFETIME 0) closes its data
// connections, pending and bound (RFC 6062 §5.5).
func TestTCPAllocationDeleteClosesData(t *testing.T) {
	s, tcpAddr, _ := startStreamServer(t, Config{AllowPeers: loopbackPeers})
	p1, p2 := newTCPPeer(t), newTCPPeer(t)
	ctl := dialStream(t, "tcp", tcpAddr)
	ctl.tcpAllocate()
	_, id := ctl.connect(p1.addr)
	pc1 := p1.accept(t)
	code, dc := bind(t, "tcp", tcpAddr, id, true)
	if code != 0 {
		t.Fatalf("ConnectionBind: code %d", code)
	}
	exchange(t, dc.data(), pc1)
	if code, _ := ctl.connect(p2.addr); code != 0 {
		t.Fatalf("Connect: code %d", code)
	}
	pc2 := p2.accept(t)
	waitTCPConns(t, s, 2)
	resp := ctl.do(refreshReq, func(m *stun.Message) { m.AddUint32(stun.AttrLifetime, 0) })
	if code := errCode(resp); code != 0 {
		t.Fatalf("Refresh 0: code %d", code)
	}
	for name, c := range map[string]net.Conn{"client data": dc.c, "bound peer": pc1, "pending peer": pc2, "control": ctl.c} {
		if !closed(c) {
			t.Fatalf("%s connection outlived the allocation", name)
		}
	}
	waitTCPConns(t, s, 0)
	waitAllocations(t, s, 0)
}

// A pending connection that no ConnectionBind claims is closed after the
// bind timeout (RFC 6062 §5.2, §5.3: 30 s; shortened here).
func TestTCPAllocationBindTimeout(t *testing.T) {
	s, tcpAddr, _ := startStreamServer(t, Config{AllowPeers: loopbackPeers, bindTimeout: 100 * time.Millisecond})
	peer := newTCPPeer(t)
	ctl := dialStream(t, "tcp", tcpAddr)
	ctl.tcpAllocate()
	_, id := ctl.connect(peer.addr)
	pc := peer.accept(t)
	if !closed(pc) {
		t.Fatal("unbound peer connection not closed")
	}
	waitTCPConns(t, s, 0)
	if code, _ := bind(t, "tcp", tcpAddr, id, true); code != 400 {
		t.Fatalf("ConnectionBind after the timeout: code %d, want 400", code)
	}
}

// The request rules that need no peer: TCP allocations only over TCP or
// TLS and without UDP-only attributes (RFC 6062 §5.1); no Connect on a UDP
// allocation, no ChannelBind or Send on a TCP one.
func TestTCPAllocationRules(t *testing.T) {
	h := newHarness(t, Config{AllowPeers: loopbackPeers})
	u := alice()
	if code := errCode(h.do(ft1, allocateReq, u, tcpTransport)); code != 400 {
		t.Fatalf("TCP Allocate over UDP: code %d, want 400", code)
	}
	h.allocate(ft1, u)
	if code := errCode(h.do(ft1, connectReq, u, func(m *stun.Message) {
		m.AddXORAddress(stun.AttrXORPeerAddress, netip.MustParseAddrPort("127.0.0.1:9"))
	})); code != 400 {
		t.Fatalf("Connect on a UDP allocation: code %d, want 400", code)
	}
	if code := errCode(h.do(ft1, connBindReq, u, func(m *stun.Message) { m.AddConnectionID(1) })); code != 400 {
		t.Fatalf("ConnectionBind over UDP: code %d, want 400", code)
	}

	_, tcpAddr, _ := startStreamServer(t, Config{AllowPeers: loopbackPeers})
	for name, extra := range map[string]func(*stun.Message){
		"EVEN-PORT":         func(m *stun.Message) { m.Add(stun.AttrEvenPort, []byte{0}) },
		"DONT-FRAGMENT":     func(m *stun.Message) { m.Add(stun.AttrDontFragment, nil) },
		"RESERVATION-TOKEN": func(m *stun.Message) { m.Add(stun.AttrReservationToken, make([]byte, 8)) },
	} {
		sc := dialStream(t, "tcp", tcpAddr)
		resp := sc.do(allocateReq, func(m *stun.Message) { tcpTransport(m); extra(m) })
		if code := errCode(resp); code != 400 {
			t.Fatalf("TCP Allocate with %s: code %d, want 400", name, code)
		}
	}
	sc := dialStream(t, "tcp", tcpAddr)
	sc.tcpAllocate()
	resp := sc.do(bindReq, func(m *stun.Message) {
		m.AddChannelNumber(0x4000)
		m.AddXORAddress(stun.AttrXORPeerAddress, netip.MustParseAddrPort("127.0.0.1:9"))
	})
	if code := errCode(resp); code != 400 {
		t.Fatalf("ChannelBind on a TCP allocation: code %d, want 400", code)
	}
	// A Send indication is dropped, and the connection lives on.
	var m stun.Message
	m.Reset(stun.Type{Method: stun.MethodSend, Class: stun.ClassIndication}, stun.TransactionID{7})
	m.AddXORAddress(stun.AttrXORPeerAddress, netip.MustParseAddrPort("127.0.0.1:9"))
	m.Add(stun.AttrData, []byte("x"))
	if _, err := sc.c.Write(m.Raw); err != nil {
		t.Fatal(err)
	}
	if err := sc.tryBinding(); err != nil {
		t.Fatal(err)
	}
}

// pion/turn's client side of RFC 6062 against the server: Dial (Connect
// then ConnectionBind) and Accept (ConnectionAttempt then ConnectionBind).
func TestPionTCPAllocation(t *testing.T) {
	s, _, tcpAddr := startServer(t, Config{})
	c := pionClient(t, overTCP, tcpAddr, "alice", "secret", "test")
	alloc, err := c.AllocateTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer alloc.Close()
	relay := alloc.Addr().(*net.TCPAddr).AddrPort()

	peer := newTCPPeer(t)
	dc, err := alloc.Dial("tcp4", peer.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	pc := peer.accept(t)
	if got := pc.RemoteAddr().(*net.TCPAddr).AddrPort(); got != relay {
		t.Fatalf("peer sees %v, want the relayed address %v", got, relay)
	}
	dc.SetReadDeadline(time.Now().Add(closeBound))
	exchange(t, dc, pc)

	if err := alloc.CreatePermissions(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	in, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(relay))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	alloc.SetDeadline(time.Now().Add(closeBound))
	ac, err := alloc.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	ac.SetReadDeadline(time.Now().Add(closeBound))
	exchange(t, ac, in)
	waitTCPConns(t, s, 2)
}

// Config.MaxBitrate paces a TCP allocation's data connections: past the
// one-second burst, bytes pass no faster than the cap (the elapsed time
// can only be longer on a loaded machine, never shorter).
func TestTCPAllocationBitrate(t *testing.T) {
	const rate = 32 << 10
	_, tcpAddr, _ := startStreamServer(t, Config{AllowPeers: loopbackPeers, MaxBitrate: rate})
	peer := newTCPPeer(t)
	ctl := dialStream(t, "tcp", tcpAddr)
	ctl.tcpAllocate()
	_, id := ctl.connect(peer.addr)
	pc := peer.accept(t)
	code, dc := bind(t, "tcp", tcpAddr, id, true)
	if code != 0 {
		t.Fatalf("ConnectionBind: code %d", code)
	}
	start := time.Now()
	const size = 3 * rate // one second of burst, then two at the cap
	go dc.c.Write(make([]byte, size))
	readFull(t, pc, size)
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Fatalf("%d bytes at a cap of %d B/s took %v, want about 2 s", size, rate, d)
	}
}

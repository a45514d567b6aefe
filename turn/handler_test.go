package turn

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// harness drives Server.handle directly: no client sockets, a fake clock.
type harness struct {
	t   *testing.T
	s   *Server
	now time.Time
	mu  sync.Mutex
}

type fakeSink struct {
	mu  sync.Mutex
	got [][]byte
}

func (f *fakeSink) send(b []byte) {
	f.mu.Lock()
	f.got = append(f.got, append([]byte(nil), b...))
	f.mu.Unlock()
}
func (f *fakeSink) stream() bool { return false }

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Unix(1_800_000_000, 0)}
	if cfg.Realm == "" {
		cfg.Realm = "test"
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"alice": "secret", "bob": "pw"}
	}
	cfg.RelayIP = netip.MustParseAddr("127.0.0.1")
	cfg.RelayLoops = 1
	cfg.Now = h.clock
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	h.s = s
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

var (
	client1 = netip.MustParseAddrPort("198.51.100.1:5000")
	server1 = netip.MustParseAddrPort("192.0.2.1:3478")
	ft1     = fiveTuple{client: client1, server: server1, proto: transportUDP}
	// publicPeer is only ever named in permissions and channel bindings,
	// never sent to: tests relay data to loopback peers only.
	publicPeer = netip.MustParseAddrPort("203.0.113.99:7000")
)

// user is a client's credentials and the nonce it last learnt.
type user struct {
	name, pass, realm string
	nonce             string
}

// do sends a request built by build on ft and returns the decoded response
// (nil when none). With u set, it signs the request (learning a nonce
// first when it has none, as clients do after a 401).
func (h *harness) do(ft fiveTuple, t stun.Type, u *user, build func(m *stun.Message)) *stun.Message {
	h.t.Helper()
	var id stun.TransactionID
	id[0] = byte(time.Now().UnixNano())
	id[1] = byte(time.Now().UnixNano() >> 8)
	if u != nil && u.nonce == "" {
		resp := h.do(ft, t, nil, build)
		if code := errCode(resp); code != 401 {
			h.t.Fatalf("unauthenticated request: code %d, want 401", code)
		}
		n, _ := resp.Get(stun.AttrNonce)
		u.nonce = string(n)
	}
	var req stun.Message
	req.Reset(t, id)
	if build != nil {
		build(&req)
	}
	if u != nil {
		req.AddString(stun.AttrUsername, u.name)
		req.AddString(stun.AttrRealm, u.realm)
		req.AddString(stun.AttrNonce, u.nonce)
		key := stun.LongTermKey(u.name, u.realm, u.pass)
		req.AddIntegrity(key[:])
	}
	req.AddFingerprint()
	return h.raw(ft, req.Raw)
}

func (h *harness) raw(ft fiveTuple, b []byte) *stun.Message {
	var msg, resp stun.Message
	if err := msg.Decode(append([]byte(nil), b...)); err != nil {
		return nil
	}
	var dst relayDest
	r := request{msg: &msg, resp: &resp, ft: ft, sink: &fakeSink{}, now: h.clock(), dst: &dst}
	if !h.s.handle(&r) {
		return nil
	}
	var out stun.Message
	if err := out.Decode(append([]byte(nil), resp.Raw...)); err != nil {
		h.t.Fatalf("response does not decode: %v", err)
	}
	if out.TransactionID != msg.TransactionID {
		h.t.Fatal("response transaction ID differs")
	}
	if msg.Has(stun.AttrFingerprint) {
		if err := out.CheckFingerprint(); err != nil {
			h.t.Fatalf("response fingerprint: %v", err)
		}
	}
	return &out
}

func errCode(m *stun.Message) int {
	if m == nil {
		return -1
	}
	if m.Type.Class == stun.ClassSuccess {
		return 0
	}
	v, ok := m.Get(stun.AttrErrorCode)
	if !ok {
		return -2
	}
	code, _, err := stun.ErrorCode(v)
	if err != nil {
		return -3
	}
	return code
}

var (
	allocateReq = stun.Type{Method: stun.MethodAllocate, Class: stun.ClassRequest}
	refreshReq  = stun.Type{Method: stun.MethodRefresh, Class: stun.ClassRequest}
	permReq     = stun.Type{Method: stun.MethodCreatePermission, Class: stun.ClassRequest}
	bindReq     = stun.Type{Method: stun.MethodChannelBind, Class: stun.ClassRequest}
)

func udpTransport(m *stun.Message) { m.AddRequestedTransport(stun.ProtoUDP) }

func alice() *user { return &user{name: "alice", pass: "secret", realm: "test"} }

func (h *harness) allocate(ft fiveTuple, u *user) *stun.Message {
	h.t.Helper()
	resp := h.do(ft, allocateReq, u, udpTransport)
	if code := errCode(resp); code != 0 {
		h.t.Fatalf("allocate: code %d", code)
	}
	return resp
}

func TestBinding(t *testing.T) {
	h := newHarness(t, Config{})
	resp := h.do(ft1, stun.BindingRequest, nil, nil)
	if errCode(resp) != 0 {
		t.Fatalf("code %d", errCode(resp))
	}
	got, err := resp.GetXORAddress(stun.AttrXORMappedAddress)
	if err != nil || got != client1 {
		t.Fatalf("XOR-MAPPED-ADDRESS %v %v", got, err)
	}
	// Unknown comprehension-required attribute: 420 listing it.
	resp = h.do(ft1, stun.BindingRequest, nil, func(m *stun.Message) { m.Add(0x0031, []byte{1}) })
	if errCode(resp) != 420 {
		t.Fatalf("code %d", errCode(resp))
	}
	v, _ := resp.Get(stun.AttrUnknownAttributes)
	if u, _ := stun.UnknownAttributes(nil, v); len(u) != 1 || u[0] != 0x0031 {
		t.Fatalf("UNKNOWN-ATTRIBUTES %v", u)
	}
	// Unknown comprehension-optional attributes are ignored.
	if resp = h.do(ft1, stun.BindingRequest, nil, func(m *stun.Message) { m.Add(0x8031, []byte{1}) }); errCode(resp) != 0 {
		t.Fatalf("optional attribute: code %d", errCode(resp))
	}
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t, Config{Secret: "s3cret", NonceLifetime: time.Minute})
	// No MESSAGE-INTEGRITY: 401 with REALM and NONCE, not signed.
	resp := h.do(ft1, allocateReq, nil, udpTransport)
	if errCode(resp) != 401 || !resp.Has(stun.AttrNonce) || resp.Has(stun.AttrMessageIntegrity) {
		t.Fatalf("code %d", errCode(resp))
	}
	if r, _ := resp.Get(stun.AttrRealm); string(r) != "test" {
		t.Fatalf("realm %q", r)
	}
	for _, tc := range []struct {
		name string
		u    *user
		want int
	}{
		{"wrong password", &user{name: "alice", pass: "nope", realm: "test"}, 401},
		{"unknown user", &user{name: "mallory", pass: "x", realm: "test"}, 401},
		{"wrong realm", &user{name: "alice", pass: "secret", realm: "other"}, 401},
		{"bad nonce", &user{name: "alice", pass: "secret", realm: "test", nonce: "0123456789abcdef0123456789abcdef"}, 438},
		{"expired rest", func() *user {
			n, p := RESTCredentials("s3cret", "bob", -time.Second, h.clock())
			return &user{name: n, pass: p, realm: "test"}
		}(), 401},
		{"rest with wrong secret", func() *user {
			n, p := RESTCredentials("other", "bob", time.Hour, h.clock())
			return &user{name: n, pass: p, realm: "test"}
		}(), 401},
	} {
		if got := errCode(h.do(ft1, allocateReq, tc.u, udpTransport)); got != tc.want {
			t.Errorf("%s: code %d, want %d", tc.name, got, tc.want)
		}
	}
	// Missing USERNAME with MESSAGE-INTEGRITY: 400.
	resp = h.do(ft1, allocateReq, nil, func(m *stun.Message) {
		udpTransport(m)
		m.AddIntegrity([]byte("k"))
	})
	if errCode(resp) != 400 {
		t.Errorf("missing username: code %d", errCode(resp))
	}

	// A good nonce goes stale: 438 with a fresh nonce, which then works.
	u := alice()
	resp = h.do(ft1, stun.Type{Method: stun.MethodAllocate, Class: stun.ClassRequest}, u, udpTransport)
	if errCode(resp) != 0 {
		t.Fatalf("allocate: %d", errCode(resp))
	}
	key := stun.LongTermKey("alice", "test", "secret")
	if err := resp.CheckIntegrity(key[:]); err != nil {
		t.Fatalf("success response integrity: %v", err)
	}
	h.advance(2 * time.Minute)
	resp = h.do(ft1, refreshReq, u, nil)
	if errCode(resp) != 438 {
		t.Fatalf("stale nonce: code %d", errCode(resp))
	}
	n, _ := resp.Get(stun.AttrNonce)
	u.nonce = string(n)
	if resp = h.do(ft1, refreshReq, u, nil); errCode(resp) != 0 {
		t.Fatalf("refresh with new nonce: %d", errCode(resp))
	}
	// A nonce is bound to the client's IP address.
	other := fiveTuple{client: netip.MustParseAddrPort("198.51.100.2:5000"), server: server1, proto: transportUDP}
	if got := errCode(h.do(other, allocateReq, u, udpTransport)); got != 438 {
		t.Fatalf("nonce from another IP: code %d", got)
	}
	// REST credentials.
	name, pass := RESTCredentials("s3cret", "carol", time.Hour, h.clock())
	ft2 := fiveTuple{client: netip.MustParseAddrPort("198.51.100.3:5000"), server: server1, proto: transportUDP}
	h.allocate(ft2, &user{name: name, pass: pass, realm: "test"})
}

func TestAllocate(t *testing.T) {
	h := newHarness(t, Config{DefaultLifetime: 10 * time.Minute, MaxLifetime: time.Hour})
	u := alice()
	for _, tc := range []struct {
		name  string
		build func(m *stun.Message)
		want  int
	}{
		{"no transport", nil, 400},
		// RFC 6062 §5.1: TCP allocations need a TCP or TLS connection.
		{"tcp transport over udp", func(m *stun.Message) { m.AddRequestedTransport(stun.ProtoTCP) }, 400},
		{"sctp transport", func(m *stun.Message) { m.AddRequestedTransport(132) }, 442},
		{"bad transport length", func(m *stun.Message) { m.Add(stun.AttrRequestedTransport, []byte{17}) }, 400},
		{"ipv6 without relay", func(m *stun.Message) {
			udpTransport(m)
			m.AddAddressFamily(stun.AttrRequestedAddressFamily, stun.FamilyIPv6)
		}, 440},
		{"unknown family", func(m *stun.Message) {
			udpTransport(m)
			m.AddAddressFamily(stun.AttrRequestedAddressFamily, 0x03)
		}, 440},
		{"reservation token", func(m *stun.Message) {
			udpTransport(m)
			m.Add(stun.AttrReservationToken, make([]byte, 8))
		}, 508},
		{"token with even port", func(m *stun.Message) {
			udpTransport(m)
			m.Add(stun.AttrEvenPort, []byte{0x80})
			m.Add(stun.AttrReservationToken, make([]byte, 8))
		}, 400},
	} {
		if got := errCode(h.do(ft1, allocateReq, u, tc.build)); got != tc.want {
			t.Errorf("%s: code %d, want %d", tc.name, got, tc.want)
		}
	}
	if h.s.table.len() != 0 {
		t.Fatalf("%d allocations after failures", h.s.table.len())
	}
	resp := h.do(ft1, allocateReq, u, func(m *stun.Message) {
		udpTransport(m)
		m.Add(stun.AttrEvenPort, []byte{0})
		m.Add(stun.AttrDontFragment, nil)
		m.AddUint32(stun.AttrLifetime, 7200)
	})
	if errCode(resp) != 0 {
		t.Fatalf("allocate: code %d", errCode(resp))
	}
	relay, err := resp.GetXORAddress(stun.AttrXORRelayedAddress)
	if err != nil || relay.Addr() != netip.MustParseAddr("127.0.0.1") || relay.Port()%2 != 0 || relay.Port() < 49152 {
		t.Fatalf("relayed address %v %v", relay, err)
	}
	if lt, _ := resp.GetUint32(stun.AttrLifetime); lt != 3600 {
		t.Fatalf("lifetime %d, want the 3600 s cap", lt)
	}
	if m, _ := resp.GetXORAddress(stun.AttrXORMappedAddress); m != client1 {
		t.Fatalf("mapped %v", m)
	}
	// A retransmission gets the same answer; a new Allocate on the same
	// 5-tuple gets 437.
	var again stun.Message
	again.Decode(resp.Raw)
	if got := errCode(h.do(ft1, allocateReq, u, udpTransport)); got != 437 {
		t.Fatalf("second allocate: %d", got)
	}
	// Another user may not use this allocation: 441.
	if got := errCode(h.do(ft1, refreshReq, &user{name: "bob", pass: "pw", realm: "test"}, nil)); got != 441 {
		t.Fatalf("other user's refresh: %d", got)
	}
	// Refresh with a lifetime, then 0 deletes.
	resp = h.do(ft1, refreshReq, u, func(m *stun.Message) { m.AddUint32(stun.AttrLifetime, 60) })
	if lt, _ := resp.GetUint32(stun.AttrLifetime); errCode(resp) != 0 || lt != 60 {
		t.Fatalf("refresh: %d lifetime %d", errCode(resp), lt)
	}
	if got := errCode(h.do(ft1, refreshReq, u, func(m *stun.Message) {
		m.AddAddressFamily(stun.AttrRequestedAddressFamily, stun.FamilyIPv6)
	})); got != 443 {
		t.Fatalf("refresh with another family: %d", got)
	}
	h.advance(59 * time.Second)
	h.s.sweep()
	if h.s.table.len() != 1 {
		t.Fatal("allocation expired early")
	}
	resp = h.do(ft1, refreshReq, u, func(m *stun.Message) { m.AddUint32(stun.AttrLifetime, 0) })
	if errCode(resp) != 0 || h.s.table.len() != 0 {
		t.Fatalf("delete: %d, %d left", errCode(resp), h.s.table.len())
	}
	if got := errCode(h.do(ft1, refreshReq, u, nil)); got != 437 {
		t.Fatalf("refresh without allocation: %d", got)
	}
	// Expiry by the clock.
	h.allocate(ft1, u)
	h.advance(10*time.Minute + time.Second)
	h.s.sweep()
	if h.s.table.len() != 0 {
		t.Fatal("allocation did not expire")
	}
}

func TestAllocateIPv6(t *testing.T) {
	h := newHarness(t, Config{RelayIPv6: netip.MustParseAddr("::1")})
	resp := h.do(ft1, allocateReq, alice(), func(m *stun.Message) {
		udpTransport(m)
		m.AddAddressFamily(stun.AttrRequestedAddressFamily, stun.FamilyIPv6)
	})
	if errCode(resp) != 0 {
		t.Skipf("no IPv6 loopback here: code %d", errCode(resp))
	}
	relay, _ := resp.GetXORAddress(stun.AttrXORRelayedAddress)
	if relay.Addr() != netip.IPv6Loopback() {
		t.Fatalf("relay %v", relay)
	}
	// An IPv4 peer on an IPv6 allocation: 443 (RFC 6156 §5).
	if got := errCode(h.do(ft1, permReq, alice(), func(m *stun.Message) {
		m.AddXORAddress(stun.AttrXORPeerAddress, publicPeer)
	})); got != 443 {
		t.Fatalf("v4 peer: %d", got)
	}
}

func TestPermissionsAndChannels(t *testing.T) {
	h := newHarness(t, Config{})
	u := alice()
	h.allocate(ft1, u)
	peer := func(ap netip.AddrPort) func(m *stun.Message) {
		return func(m *stun.Message) { m.AddXORAddress(stun.AttrXORPeerAddress, ap) }
	}
	for _, tc := range []struct {
		name string
		ap   string
		want int
	}{
		{"public", "203.0.113.99:7000", 0},
		{"loopback", "127.0.0.1:7000", 403},
		{"mapped loopback", "[::ffff:127.0.0.1]:7000", 403},
		{"metadata", "169.254.169.254:80", 403},
		{"private", "10.0.0.1:7000", 403},
		{"relay address", "127.0.0.1:3478", 403},
		{"ipv6 peer on ipv4 allocation", "[2001:db8::1]:7000", 443},
	} {
		if got := errCode(h.do(ft1, permReq, u, peer(netip.MustParseAddrPort(tc.ap)))); got != tc.want {
			t.Errorf("CreatePermission %s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := errCode(h.do(ft1, permReq, u, nil)); got != 400 {
		t.Errorf("CreatePermission without peer: %d", got)
	}
	// One denied peer among several: nothing is installed.
	h.do(ft1, permReq, u, func(m *stun.Message) {
		m.AddXORAddress(stun.AttrXORPeerAddress, netip.MustParseAddrPort("203.0.113.5:1"))
		m.AddXORAddress(stun.AttrXORPeerAddress, netip.MustParseAddrPort("10.0.0.1:1"))
	})
	a := h.s.table.get(ft1)
	a.mu.RLock()
	if a.permitted(netip.MustParseAddr("203.0.113.5"), h.clock()) {
		t.Error("permission installed from a rejected request")
	}
	if !a.permitted(publicPeer.Addr(), h.clock()) {
		t.Error("permission missing")
	}
	a.mu.RUnlock()

	bind := func(num uint16, ap netip.AddrPort) int {
		return errCode(h.do(ft1, bindReq, u, func(m *stun.Message) {
			m.AddChannelNumber(num)
			m.AddXORAddress(stun.AttrXORPeerAddress, ap)
		}))
	}
	other := netip.MustParseAddrPort("203.0.113.100:7000")
	for _, tc := range []struct {
		name string
		num  uint16
		ap   netip.AddrPort
		want int
	}{
		{"bind", 0x4000, publicPeer, 0},
		{"rebind refreshes", 0x4000, publicPeer, 0},
		{"number below range", 0x3FFF, other, 400},
		{"number above range", 0x8000, other, 400},
		{"channel to another peer", 0x4000, other, 400},
		{"peer on another channel", 0x4001, publicPeer, 400},
		{"denied peer", 0x4002, netip.MustParseAddrPort("192.168.0.1:1"), 403},
		{"second channel", 0x4FFF, other, 0},
	} {
		if got := bind(tc.num, tc.ap); got != tc.want {
			t.Errorf("ChannelBind %s: %d, want %d", tc.name, got, tc.want)
		}
	}
	// Permissions last 300 s, channels 600 s (RFC 8656 §9, §12); a channel
	// bind refreshes its permission.
	h.advance(301 * time.Second)
	h.s.sweep()
	a.mu.RLock()
	okPerm := a.permitted(publicPeer.Addr(), h.clock())
	a.mu.RUnlock()
	if okPerm {
		t.Error("permission outlived 300 s")
	}
	h.do(ft1, refreshReq, u, nil)
	h.advance(300 * time.Second)
	h.s.sweep()
	a.mu.RLock()
	nch := len(a.chans)
	a.mu.RUnlock()
	if nch != 0 {
		t.Errorf("%d channels outlived 600 s", nch)
	}
}

func TestQuotas(t *testing.T) {
	h := newHarness(t, Config{UserQuota: 2, IPQuota: 3})
	ft := func(ip string, port uint16) fiveTuple {
		return fiveTuple{client: netip.AddrPortFrom(netip.MustParseAddr(ip), port), server: server1, proto: transportUDP}
	}
	u := alice()
	h.allocate(ft("198.51.100.1", 1), u)
	h.allocate(ft("198.51.100.1", 2), u)
	if got := errCode(h.do(ft("198.51.100.1", 3), allocateReq, u, udpTransport)); got != 486 {
		t.Fatalf("user quota: %d", got)
	}
	b := &user{name: "bob", pass: "pw", realm: "test"}
	h.allocate(ft("198.51.100.1", 4), b)
	if got := errCode(h.do(ft("198.51.100.1", 5), allocateReq, b, udpTransport)); got != 486 {
		t.Fatalf("IP quota: %d", got)
	}
	h.allocate(ft("198.51.100.2", 5), &user{name: "bob", pass: "pw", realm: "test"}) // nonces are per IP
	// Deleting one frees its quota.
	h.do(ft("198.51.100.1", 1), refreshReq, u, func(m *stun.Message) { m.AddUint32(stun.AttrLifetime, 0) })
	h.allocate(ft("198.51.100.1", 6), u)
	if st := h.s.Stats(); st.QuotaRejections != 2 || st.Allocations != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestIgnoredMessages(t *testing.T) {
	h := newHarness(t, Config{})
	var m stun.Message
	// Responses and unknown indications get nothing back.
	for _, typ := range []stun.Type{stun.BindingSuccess, {Method: stun.MethodData, Class: stun.ClassIndication}, {Method: 0x0FF, Class: stun.ClassIndication}} {
		m.Reset(typ, stun.TransactionID{1})
		if resp := h.raw(ft1, m.Raw); resp != nil {
			t.Errorf("%v answered", typ)
		}
	}
	// A bad FINGERPRINT is discarded silently (RFC 8489 §7.3).
	m.Reset(stun.BindingRequest, stun.TransactionID{2})
	m.AddFingerprint()
	m.Raw[len(m.Raw)-1] ^= 1
	if resp := h.raw(ft1, m.Raw); resp != nil {
		t.Error("bad fingerprint answered")
	}
	// Unknown method: 400.
	m.Reset(stun.Type{Method: 0x0FF, Class: stun.ClassRequest}, stun.TransactionID{3})
	m.AddFingerprint()
	// It needs credentials first.
	if got := errCode(h.raw(ft1, m.Raw)); got != 401 {
		t.Errorf("unknown method: %d", got)
	}
	if got := errCode(h.do(ft1, stun.Type{Method: 0x0FF, Class: stun.ClassRequest}, alice(), nil)); got != 400 {
		t.Errorf("unknown method with credentials: %d", got)
	}
}

func TestReservation(t *testing.T) {
	h := newHarness(t, Config{})
	u := alice()
	// EVEN-PORT with R: an even port, and a token for the next one
	// (RFC 8656 §7.2).
	resp := h.do(ft1, allocateReq, u, func(m *stun.Message) {
		udpTransport(m)
		m.Add(stun.AttrEvenPort, []byte{0x80})
	})
	if errCode(resp) != 0 {
		t.Fatalf("allocate: %d", errCode(resp))
	}
	relay, _ := resp.GetXORAddress(stun.AttrXORRelayedAddress)
	tok, ok := resp.Get(stun.AttrReservationToken)
	if relay.Port()%2 != 0 || !ok || len(tok) != 8 {
		t.Fatalf("relay %v token %x", relay, tok)
	}
	tok = append([]byte(nil), tok...)
	ft2 := fiveTuple{client: netip.MustParseAddrPort("198.51.100.1:5001"), server: server1, proto: transportUDP}
	withToken := func(tok []byte) func(m *stun.Message) {
		return func(m *stun.Message) {
			udpTransport(m)
			m.Add(stun.AttrReservationToken, tok)
		}
	}
	resp = h.do(ft2, allocateReq, u, withToken(tok))
	if errCode(resp) != 0 {
		t.Fatalf("allocate with token: %d", errCode(resp))
	}
	if got, _ := resp.GetXORAddress(stun.AttrXORRelayedAddress); got.Port() != relay.Port()+1 {
		t.Fatalf("reserved port %v, want %d", got, relay.Port()+1)
	}
	// A token is used once; an unknown one gets 508.
	ft3 := fiveTuple{client: netip.MustParseAddrPort("198.51.100.1:5002"), server: server1, proto: transportUDP}
	if got := errCode(h.do(ft3, allocateReq, u, withToken(tok))); got != 508 {
		t.Fatalf("reused token: %d", got)
	}
	// Reservations expire after 30 s.
	resp = h.do(ft3, allocateReq, u, func(m *stun.Message) {
		udpTransport(m)
		m.Add(stun.AttrEvenPort, []byte{0x80})
	})
	tok, _ = resp.Get(stun.AttrReservationToken)
	tok = append([]byte(nil), tok...)
	h.advance(31 * time.Second)
	h.s.sweep()
	ft4 := fiveTuple{client: netip.MustParseAddrPort("198.51.100.1:5003"), server: server1, proto: transportUDP}
	if got := errCode(h.do(ft4, allocateReq, &user{name: "alice", pass: "secret", realm: "test"}, withToken(tok))); got != 508 {
		t.Fatalf("expired token: %d", got)
	}
}

package turn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// TestServeUDPAndTLS runs the production transports: ServeUDP's
// SO_REUSEPORT sockets read by the relay loops, and TURN over TLS, each
// with the pion client relaying to an echo peer.
func TestServeUDPAndTLS(t *testing.T) {
	s, err := New(Config{
		Realm:      "test",
		Users:      map[string]string{"alice": "secret"},
		RelayIP:    netip.MustParseAddr("127.0.0.1"),
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		UDPSockets: 3,
		RelayLoops: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	tln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testCert(t)}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.ServeUDP("127.0.0.1:0") }()
	go func() { errc <- s.ServeTCP(tln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		for i := 0; i < 2; i++ {
			if err := <-errc; err != ErrServerClosed {
				t.Errorf("serve: %v", err)
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.UDPAddrs()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("ServeUDP did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	udpAddr := s.UDPAddrs()[0].String()
	peer := echoPeer(t)

	t.Run("udp", func(t *testing.T) {
		// Several clients, so that the kernel spreads them over the
		// SO_REUSEPORT sockets and the loops.
		for i := 0; i < 4; i++ {
			c := pionClient(t, overUDP, udpAddr, "alice", "secret", "test")
			relay, err := c.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			relayEcho(t, relay, peer.LocalAddr(), 10, 500)
			relay.Close()
		}
	})
	t.Run("tls", func(t *testing.T) {
		conn, err := tls.Dial("tcp4", tln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		pc := pionturn.NewSTUNConn(conn)
		c, err := pionturn.NewClient(&pionturn.ClientConfig{
			STUNServerAddr: tln.Addr().String(), TURNServerAddr: tln.Addr().String(),
			Conn: pc, Username: "alice", Password: "secret", Realm: "test",
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { c.Close(); pc.Close() }()
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		relay, err := c.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		defer relay.Close()
		relayEcho(t, relay, peer.LocalAddr(), 10, 777)
	})
	if st := s.Stats(); st.PacketsToClients < 50 {
		t.Errorf("stats %+v", st)
	}
}

func testCert(t testing.TB) tls.Certificate {
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
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

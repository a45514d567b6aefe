package turn

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// startServer runs a server on loopback UDP and TCP with loopback peers
// allowed, and stops it when the test ends.
func startServer(t *testing.T, cfg Config) (s *Server, udpAddr, tcpAddr string) {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = "test"
	}
	if cfg.Users == nil {
		cfg.Users = map[string]string{"alice": "secret"}
	}
	cfg.RelayIP = netip.MustParseAddr("127.0.0.1")
	if cfg.AllowPeers == nil {
		cfg.AllowPeers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	if cfg.UDPSockets == 0 {
		cfg.UDPSockets = 2
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.ServePacket(pc) }()
	go func() { errc <- s.ServeTCP(ln) }()
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
	return s, pc.LocalAddr().String(), ln.Addr().String()
}

// echoPeer is a UDP peer that echoes every datagram.
func echoPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc
}

type clientTransport int

const (
	overUDP clientTransport = iota
	overTCP
)

func pionClient(t *testing.T, over clientTransport, server, user, pass, realm string) *pionturn.Client {
	t.Helper()
	var conn net.PacketConn
	switch over {
	case overUDP:
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	case overTCP:
		c, err := net.Dial("tcp4", server)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	}
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: server,
		TURNServerAddr: server,
		Conn:           conn,
		Username:       user,
		Password:       pass,
		Realm:          realm,
		RTO:            200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c
}

// relayEcho sends n packets through relay to peer and waits for the echoes.
func relayEcho(t *testing.T, relay net.PacketConn, peer net.Addr, n, size int) {
	t.Helper()
	buf := make([]byte, 65536)
	for i := 0; i < n; i++ {
		msg := bytes.Repeat([]byte{byte(i)}, size)
		copy(msg, fmt.Sprintf("%d:", i))
		// Early packets may be lost while the permission is created, so
		// resend until the echo arrives.
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := relay.WriteTo(msg, peer); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			relay.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			got, from, err := relay.ReadFrom(buf)
			if err == nil && bytes.Equal(buf[:got], msg) {
				if from.String() != peer.String() {
					t.Fatalf("echo from %v, want %v", from, peer)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("packet %d: no echo (%v)", i, err)
			}
		}
	}
}

func TestPionClient(t *testing.T) {
	for _, over := range []clientTransport{overUDP, overTCP} {
		name := map[clientTransport]string{overUDP: "udp", overTCP: "tcp"}[over]
		t.Run(name, func(t *testing.T) {
			s, udpAddr, tcpAddr := startServer(t, Config{Secret: "rest-secret"})
			server := udpAddr
			if over == overTCP {
				server = tcpAddr
			}
			peer := echoPeer(t)

			t.Run("binding", func(t *testing.T) {
				c := pionClient(t, over, server, "alice", "secret", "test")
				mapped, err := c.SendBindingRequest()
				if err != nil {
					t.Fatal(err)
				}
				if host, _, _ := net.SplitHostPort(mapped.String()); host != "127.0.0.1" {
					t.Fatalf("mapped %v", mapped)
				}
			})
			t.Run("static", func(t *testing.T) {
				c := pionClient(t, over, server, "alice", "secret", "test")
				relay, err := c.Allocate()
				if err != nil {
					t.Fatal(err)
				}
				defer relay.Close()
				// More than one packet so pion binds a channel: both the Send
				// indication and the ChannelData paths are used.
				relayEcho(t, relay, peer.LocalAddr(), 20, 160)
				relayEcho(t, relay, peer.LocalAddr(), 3, 1200)
			})
			t.Run("rest", func(t *testing.T) {
				user, pass := RESTCredentials("rest-secret", "bob", time.Hour, time.Now())
				c := pionClient(t, over, server, user, pass, "test")
				relay, err := c.Allocate()
				if err != nil {
					t.Fatal(err)
				}
				defer relay.Close()
				relayEcho(t, relay, peer.LocalAddr(), 5, 100)
			})
			t.Run("wrong password", func(t *testing.T) {
				c := pionClient(t, over, server, "alice", "nope", "test")
				if _, err := c.Allocate(); err == nil {
					t.Fatal("allocated with a wrong password")
				}
			})
			t.Run("expired rest", func(t *testing.T) {
				user, pass := RESTCredentials("rest-secret", "bob", -time.Minute, time.Now())
				c := pionClient(t, over, server, user, pass, "test")
				if _, err := c.Allocate(); err == nil {
					t.Fatal("allocated with expired credentials")
				}
			})
			if st := s.Stats(); st.PacketsToPeers == 0 || st.PacketsToClients == 0 || st.AuthFailures == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

package browser_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/turn"
)

// startTURN runs Switchboard's TURN server for Chromium: UDP and TCP on one
// loopback port, relays on 127.0.0.1, loopback peers allowed (the two
// peer connections' relayed addresses are loopback addresses of the same
// server), a static user and a REST secret. It returns the server and its
// port.
func startTURN(t *testing.T) (*turn.Server, string) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := turn.New(turn.Config{
		Realm:      "switchboard",
		Secret:     turnSecret,
		Users:      map[string]string{"chromium": "relay-me"},
		RelayIP:    netip.MustParseAddr("127.0.0.1"),
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RelayLoops: 1,
		UDPSockets: 1,
		Logger:     logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.ServeTCP(ln) }()
	go func() { errc <- s.ServeUDP(ln.Addr().String()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("turn Shutdown: %v", err)
		}
		for i := 0; i < 2; i++ {
			if err := <-errc; err != turn.ErrServerClosed {
				t.Errorf("turn serve: %v", err)
			}
		}
	})
	for deadline := time.Now().Add(10 * time.Second); len(s.UDPAddrs()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("ServeUDP did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s, ln.Addr().String()
}

const turnSecret = "browser-test-secret"

// TestTURNRelay: Chromium with two RTCPeerConnections whose only ICE server
// is ours and whose iceTransportPolicy is 'relay' carries data-channel
// messages both ways, and getStats() shows a relay candidate at both ends
// of both selected pairs. Over UDP with REST credentials (what /signal
// hands out) and over TCP with a static user. The server's counters show
// that it relayed the traffic and that each page's two allocations were
// released when the page closed its peer connections.
//
// Chromium uses a TURN server on 127.0.0.1 here because the browser
// helpers pass --allow-loopback-in-peer-connection; no network namespace
// is needed.
func TestTURNRelay(t *testing.T) {
	for _, tc := range []struct{ name, transport string }{{"udp-rest", "udp"}, {"tcp-static", "tcp"}} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := startTURN(t)
			user, pass := "chromium", "relay-me"
			if strings.HasSuffix(tc.name, "rest") {
				user, pass = turn.RESTCredentials(turnSecret, "chromium", time.Hour, time.Now())
			}
			out := runScript(t, "turn", fmt.Sprintf("turn:%s?transport=%s", addr, tc.transport), user, pass)
			requireLines(t, out, "ok datachannel-both-ways", "ok selected-pair-relay")
			if !strings.Contains(out, "relayProtocol="+tc.transport) {
				t.Errorf("the relay candidates were not gathered over %s", tc.transport)
			}
			st := s.Stats()
			t.Logf("server stats: %+v", st)
			if st.AllocationsTotal < 2 || st.PacketsToPeers == 0 || st.PacketsToClients == 0 || st.AuthFailures != 0 {
				t.Errorf("the server did not relay for both peer connections: %+v", st)
			}
			// Closing the peer connections deletes their allocations
			// (Refresh with LIFETIME 0), which the server may see a
			// little after the script exits.
			for deadline := time.Now().Add(10 * time.Second); s.Stats().Allocations != 0; {
				if time.Now().After(deadline) {
					t.Errorf("%d allocations left after the page closed its peer connections", s.Stats().Allocations)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

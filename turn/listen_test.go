package turn

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard/switchboard/stun"
)

func TestListenAndServe(t *testing.T) {
	s, err := New(Config{RelayIP: netip.MustParseAddr("127.0.0.1"), Users: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ListenAndServe("127.0.0.1:0") }()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.UDPAddrs()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not serving UDP")
		}
		time.Sleep(5 * time.Millisecond)
	}
	addr := s.UDPAddrs()[0].String()
	for _, network := range []string{"udp4", "tcp4"} {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		var m, r stun.Message
		m.Reset(stun.BindingRequest, stun.TransactionID{1})
		c.Write(m.Raw)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		c.Close()
		if err != nil || r.Decode(buf[:n]) != nil || r.Type != stun.BindingSuccess {
			t.Fatalf("%s Binding on %s: %v", network, addr, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != ErrServerClosed {
		t.Fatalf("ListenAndServe returned %v", err)
	}
}

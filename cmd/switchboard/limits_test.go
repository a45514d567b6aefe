package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// startApp runs the app in this process on a loopback port with TURN off.
func startApp(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	cfg, err := parseConfig(append([]string{"--listen", addr, "--turn-listen", "off", "--echo"}, args...), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return addr
}

func dialWS(t *testing.T, url, origin string) (*websocket.ClientConn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{Header: http.Header{}}
	if origin != "" {
		opts.Header.Set("Origin", origin)
	}
	c, resp, err := websocket.Dial(ctx, url, opts)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if c != nil {
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, resp, err
}

// scrape returns /metrics, retrying while the connection is refused by a
// limit.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrape: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric returns the value of the sample named exactly by series.
func metric(page, series string) string {
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

func TestConnectionsPerAddress(t *testing.T) {
	addr := startApp(t, "--limit-exempt", "none", "--max-conns-per-ip", "2", "--conn-rate-per-ip", "0")
	a, _, err := dialWS(t, "ws://"+addr+"/echo", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dialWS(t, "ws://"+addr+"/echo", ""); err != nil {
		t.Fatal(err)
	}
	// The third connection from 127.0.0.1 is answered 429.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(nc, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !resp.Close {
		t.Fatalf("third connection: %d close=%v", resp.StatusCode, resp.Close)
	}

	// Traffic on the engine, then a closed connection frees a slot for the
	// scrape.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		if err := a.Write(ctx, websocket.TextMessage, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.Close(websocket.StatusNormalClosure, "")
	page := scrape(t, addr)
	for series, want := range map[string]string{
		`switchboard_limit_hits_total{limit="conns_per_ip"}`:                "1",
		`switchboard_limit_hits_total{limit="conn_rate_per_ip"}`:            "0",
		`switchboard_messages_received_total{transport="websocket"}`:        "3",
		`switchboard_received_bytes_total{transport="websocket"}`:           "15",
		`switchboard_messages_sent_total{transport="websocket"}`:            "3",
		`switchboard_messages_received_total{transport="engineio_polling"}`: "0",
		`switchboard_limit_hits_total{limit="sio_message_rate"}`:            "0",
		`switchboard_websocket_slow_consumer_disconnects_total`:             "0",
		`switchboard_signaling_rooms`:                                       "0",
		`switchboard_sio_broadcast_deliveries_total`:                        "0",
	} {
		if got := metric(page, series); got != want {
			t.Errorf("%s = %q, want %q", series, got, want)
		}
	}
	if strings.Contains(page, "switchboard_redis_connected") {
		t.Error("redis_connected exported without --redis-url")
	}
}

func TestConnectionRatePerAddress(t *testing.T) {
	addr := startApp(t, "--limit-exempt", "none", "--conn-rate-per-ip", "0.001") // a burst of 1, then none for 1000 s
	get := func() int {
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("first connection: %d", code)
	}
	if code := get(); code != http.StatusTooManyRequests {
		t.Fatalf("second connection: %d", code)
	}
}

func TestLoopbackExemptByDefault(t *testing.T) {
	addr := startApp(t, "--max-conns-per-ip", "1", "--conn-rate-per-ip", "1")
	for i := 0; i < 5; i++ {
		if _, _, err := dialWS(t, "ws://"+addr+"/echo", ""); err != nil {
			t.Fatalf("connection %d from loopback: %v", i, err)
		}
	}
}

func TestAllowedOrigins(t *testing.T) {
	addr := startApp(t, "--allowed-origins", "https://good.example")
	base := "ws://" + addr
	for _, path := range []string{"/echo", "/signal", "/peerjs/peerjs?key=peerjs&id=abc&token=t", "/socket.io/?EIO=4&transport=websocket"} {
		for _, tc := range []struct {
			origin string
			ok     bool
		}{{"", true}, {"https://good.example", true}, {"http://" + addr, true}, {"https://evil.example", false}} {
			_, resp, err := dialWS(t, base+path, tc.origin)
			if tc.ok && err != nil {
				t.Errorf("%s from %q: %v", path, tc.origin, err)
			}
			if !tc.ok && (err == nil || resp == nil || resp.StatusCode != http.StatusForbidden) {
				t.Errorf("%s from %q: %v, %v; want 403", path, tc.origin, resp, err)
			}
		}
	}
	for _, tc := range []struct {
		origin string
		code   int
		acao   string
	}{{"", 200, ""}, {"https://good.example", 200, "https://good.example"}, {"https://evil.example", 403, ""}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/socket.io/?EIO=4&transport=polling", nil)
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		tr := &http.Transport{}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != tc.code || resp.Header.Get("Access-Control-Allow-Origin") != tc.acao {
			t.Errorf("polling from %q: %d ACAO %q; want %d %q", tc.origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), tc.code, tc.acao)
		}
	}
	if got := metric(scrape(t, addr), `switchboard_limit_hits_total{limit="origin"}`); got != "2" {
		t.Errorf(`limit_hits_total{limit="origin"} = %q, want 2 (Socket.IO's WebSocket and polling)`, got)
	}
}

package engineio

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, quietConfig(), true)
	code, body, hdr := h.do("GET", "EIO=4&transport=polling&sid=nope", "")
	if code != 400 || body != `{"code":1,"message":"Session ID unknown"}` || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("unknown sid: %d %s %v", code, body, hdr)
	}
	code, body, _ = h.do("GET", "EIO=3&transport=polling", "")
	if code != 400 || body != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Fatalf("EIO=3: %d %s", code, body)
	}
	code, body, _ = h.do("GET", "EIO=4&transport=websocket", "")
	if code != 400 || body != `{"code":3,"message":"Bad request"}` {
		t.Fatalf("websocket without upgrade: %d %s", code, body)
	}
	code, body, _ = h.do("POST", "EIO=4&transport=polling", "4x")
	if code != 400 || body != `{"code":2,"message":"Bad handshake method"}` {
		t.Fatalf("POST handshake: %d %s", code, body)
	}
	sid := h.open()
	if code, _, _ := h.do("PUT", "EIO=4&transport=polling&sid="+sid, "4x"); code != 400 {
		t.Fatalf("PUT: %d", code)
	}
}

func TestTransportsConfig(t *testing.T) {
	cfg := quietConfig()
	cfg.Transports = []Transport{Polling}
	h := newHarness(t, cfg, true)
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "")
	if code != 200 || len(parseOpen(t, body).Upgrades) != 0 {
		t.Fatalf("polling-only handshake: %d %s", code, body)
	}
	if _, err := h.dial("EIO=4&transport=websocket"); err == nil {
		t.Fatal("websocket accepted with Transports: polling")
	}
}

func TestAllowRequest(t *testing.T) {
	cfg := quietConfig()
	cfg.AllowRequest = func(r *http.Request) error {
		if r.Header.Get("X-Token") != "ok" {
			return errors.New("bad token")
		}
		return nil
	}
	h := newHarness(t, cfg, true)
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "")
	if code != 403 || body != `{"code":4,"message":"bad token"}` {
		t.Fatalf("refused: %d %s", code, body)
	}
	if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", "X-Token", "ok"); code != 200 {
		t.Fatalf("allowed: %d", code)
	}
	if _, err := h.dial("EIO=4&transport=websocket"); err == nil {
		t.Fatal("websocket handshake not checked by AllowRequest")
	}
}

func TestCORS(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		h := newHarness(t, quietConfig(), true)
		_, _, hdr := h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://a.example")
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("Allow-Origin %q", v)
		}
	})
	t.Run("wildcard", func(t *testing.T) {
		h := newHarness(t, suiteConfig(), true)
		_, _, hdr := h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://a.example")
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "*" {
			t.Fatalf("Allow-Origin %q", v)
		}
		code, _, hdr := h.do("OPTIONS", "EIO=4&transport=polling", "", "Origin", "http://a.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
		if code != 204 || hdr.Get("Access-Control-Allow-Methods") != corsMethods || hdr.Get("Access-Control-Allow-Headers") != "content-type" {
			t.Fatalf("preflight: %d %v", code, hdr)
		}
	})
	t.Run("list with credentials", func(t *testing.T) {
		cfg := quietConfig()
		cfg.CORS = CORS{Origins: []string{"http://a.example"}, Credentials: true, MaxAge: time.Hour}
		h := newHarness(t, cfg, true)
		_, _, hdr := h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://a.example")
		if hdr.Get("Access-Control-Allow-Origin") != "http://a.example" || hdr.Get("Access-Control-Allow-Credentials") != "true" || hdr.Get("Vary") != "Origin" {
			t.Fatalf("allowed origin: %v", hdr)
		}
		_, _, hdr = h.do("GET", "EIO=4&transport=polling", "", "Origin", "http://evil.example")
		if v := hdr.Get("Access-Control-Allow-Origin"); v != "" {
			t.Fatalf("other origin allowed: %q", v)
		}
		_, _, hdr = h.do("OPTIONS", "EIO=4&transport=polling", "", "Origin", "http://a.example", "Access-Control-Request-Method", "GET")
		if hdr.Get("Access-Control-Max-Age") != "3600" {
			t.Fatalf("preflight: %v", hdr)
		}
		// The same policy decides cross-origin WebSocket handshakes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for origin, ok := range map[string]bool{"http://a.example": true, "http://evil.example": false} {
			c, resp, err := websocket.Dial(ctx, h.wsURL("EIO=4&transport=websocket"), &websocket.DialOptions{Header: http.Header{"Origin": {origin}}})
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			if (err == nil) != ok {
				t.Errorf("websocket from %s: err %v", origin, err)
			}
			if c != nil {
				_ = c.CloseNow()
			}
		}
	})
}

func TestPollingCompression(t *testing.T) {
	for _, tt := range []struct {
		name      string
		threshold int
		accept    string
		size      int
		gzip      bool
	}{
		{"large, gzip accepted", 0, "gzip, deflate", 2000, true},
		{"below threshold", 0, "gzip", 500, false},
		{"not accepted", 0, "", 2000, false},
		{"refused with q=0", 0, "gzip;q=0, deflate", 2000, false},
		{"disabled", -1, "gzip", 2000, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := quietConfig()
			cfg.HTTPCompressionThreshold = tt.threshold
			h := newHarness(t, cfg, false)
			sid := h.open()
			s := h.rec.next(t, "open").s
			_ = s.Send([]byte(strings.Repeat("a", tt.size)), false)
			// A raw transport, so that gzip is not undone by the client.
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", h.url+"?EIO=4&transport=polling&sid="+sid, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r io.Reader = resp.Body
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.gzip {
				t.Fatalf("gzip %v, want %v", got, tt.gzip)
			}
			if tt.gzip {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			body, err := io.ReadAll(r)
			if err != nil || string(body) != "4"+strings.Repeat("a", tt.size) {
				t.Fatalf("body of %d bytes, err %v", len(body), err)
			}
		})
	}
}

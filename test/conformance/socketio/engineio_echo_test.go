package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestEngineIOEcho checks the protocol profile's /engine.io/ mount: the
// suite's handshake settings and an echo of text and binary messages.
func TestEngineIOEcho(t *testing.T) {
	ws, err := websocket.NewServer(websocket.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{mux: http.NewServeMux(), ws: ws, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	shutdown, err := mountEngineIOEcho(e)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e.mux)
	client := &http.Client{Transport: &http.Transport{}}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = shutdown(ctx) // the session's client stopped polling: Shutdown drops it at ctx's end
		_ = ws.Shutdown(ctx)
		client.CloseIdleConnections()
		ts.Close()
	}()
	do := func(method, query, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+"/engine.io/?"+query, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("GET", "EIO=4&transport=polling", "")
	if code != 200 || !strings.Contains(body, `"upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`) {
		t.Fatalf("handshake: %d %s", code, body)
	}
	sid := body[strings.Index(body, `"sid":"`)+7:]
	sid = sid[:strings.IndexByte(sid, '"')]
	if code, _ := do("POST", "EIO=4&transport=polling&sid="+sid, "4hello\x1ebAQIDBA=="); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	if _, body := do("GET", "EIO=4&transport=polling&sid="+sid, ""); body != "4hello\x1ebAQIDBA==" {
		t.Fatalf("echo %q", body)
	}
}

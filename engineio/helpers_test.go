package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// TestMain fails the package if goroutines started by the tests outlive
// them (every test shuts its servers down and closes its clients).
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	// The fuzzing engine keeps goroutines of its own (signal handling).
	fuzzing := flag.Lookup("test.fuzz").Value.String() != "" || flag.Lookup("test.fuzzworker").Value.String() == "true"
	if code == 0 && !fuzzing {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines at start, %d at end:\n%s\n", before, n, buf)
			code = 1
		}
	}
	os.Exit(code)
}

// event is one Handler call, recorded by recorder.
type event struct {
	kind   string // "open", "message", "close"
	s      *Socket
	data   string
	binary bool
	reason Reason
	err    error
}

// recorder is a Handler that records every call and, when echo is set,
// sends every message back.
type recorder struct {
	echo   bool
	events chan event
	mu     sync.Mutex
	inMsg  map[*Socket]bool // OnMessage running, to check one-at-a-time and close-after-message
	fail   []string
}

func newRecorder(echo bool) *recorder {
	return &recorder{echo: echo, events: make(chan event, 1024), inMsg: map[*Socket]bool{}}
}

func (r *recorder) OnOpen(s *Socket) { r.events <- event{kind: "open", s: s} }

func (r *recorder) OnMessage(s *Socket, data []byte, binary bool) {
	r.mu.Lock()
	if r.inMsg[s] {
		r.fail = append(r.fail, "concurrent OnMessage")
	}
	r.inMsg[s] = true
	r.mu.Unlock()
	if r.echo {
		_ = s.Send(data, binary)
	}
	r.events <- event{kind: "message", s: s, data: string(data), binary: binary}
	r.mu.Lock()
	r.inMsg[s] = false
	r.mu.Unlock()
}

func (r *recorder) OnClose(s *Socket, reason Reason, err error) {
	r.mu.Lock()
	if r.inMsg[s] {
		r.fail = append(r.fail, "OnClose during OnMessage")
	}
	r.mu.Unlock()
	r.events <- event{kind: "close", s: s, reason: reason, err: err}
}

// next returns the next event of kind, skipping others, within 5 s.
func (r *recorder) next(t *testing.T, kind string) event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %q event within 5s", kind)
		}
	}
}

func (r *recorder) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.fail {
		t.Error(f)
	}
}

// harness is a Server under test behind an httptest.Server, with a client
// of its own.
type harness struct {
	t      *testing.T
	srv    *Server
	rec    *recorder
	url    string // http://127.0.0.1:port/engine.io/
	client *http.Client
}

// suiteConfig is the configuration of the official test suite's server.
func suiteConfig() Config {
	return Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1_000_000,
		CORS:         CORS{Origins: []string{"*"}},
	}
}

// suiteQuietConfig is suiteConfig with the heartbeat out of the way, for
// the cases that do not test it: on a loaded machine a 300 ms ping could
// otherwise slip into a poll the case expects to hold something else.
func suiteQuietConfig() Config {
	cfg := suiteConfig()
	cfg.PingInterval, cfg.PingTimeout = time.Minute, time.Minute
	return cfg
}

// quietConfig has a heartbeat slow enough not to interfere.
func quietConfig() Config {
	return Config{PingInterval: time.Minute, PingTimeout: time.Minute}
}

func newHarness(t *testing.T, cfg Config, echo bool) *harness {
	t.Helper()
	rec := newRecorder(echo)
	cfg.Handler = rec
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewServer(mux)
	tr := &http.Transport{}
	h := &harness{t: t, srv: srv, rec: rec, url: ts.URL + "/engine.io/", client: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		// Polling sessions whose client stopped polling wait for a GET
		// that never comes; Shutdown drops them when ctx ends.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		if n := srv.Len(); n != 0 {
			t.Errorf("%d sessions left after Shutdown", n)
		}
		tr.CloseIdleConnections()
		ts.Close()
		rec.check(t)
	})
	return h
}

// do sends a request; query is appended to the base URL.
func (h *harness) do(method, query, body string, hdr ...string) (int, string, http.Header) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+"?"+query, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := h.client.Do(req.WithContext(ctx))
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, query, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

type handshakeData struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, s string) handshakeData {
	t.Helper()
	if !strings.HasPrefix(s, "0") {
		t.Fatalf("handshake %q does not start with an open packet", s)
	}
	s = strings.SplitN(s[1:], "\x1e", 2)[0]
	var keys map[string]any
	if err := json.Unmarshal([]byte(s), &keys); err != nil {
		t.Fatalf("handshake %q: %v", s, err)
	}
	for _, k := range []string{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"} {
		if _, ok := keys[k]; !ok {
			t.Fatalf("handshake %q lacks %q", s, k)
		}
	}
	if len(keys) != 5 {
		t.Fatalf("handshake %q has extra keys", s)
	}
	var hd handshakeData
	_ = json.Unmarshal([]byte(s), &hd)
	return hd
}

// open starts a polling session and returns its sid.
func (h *harness) open() string {
	h.t.Helper()
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "")
	if code != 200 {
		h.t.Fatalf("handshake: %d %s", code, body)
	}
	return parseOpen(h.t, body).SID
}

func (h *harness) poll(sid string) (int, string) {
	h.t.Helper()
	code, body, _ := h.do("GET", "EIO=4&transport=polling&sid="+sid, "")
	return code, body
}

func (h *harness) post(sid, body string) (int, string) {
	h.t.Helper()
	code, b, _ := h.do("POST", "EIO=4&transport=polling&sid="+sid, body)
	return code, b
}

func (h *harness) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(h.url, "http") + "?" + query
}

// dial opens a WebSocket to the server.
func (h *harness) dial(query string) (*websocket.ClientConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, h.wsURL(query), nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	h.t.Cleanup(func() { _ = c.CloseNow() })
	return c, nil
}

func (h *harness) mustDial(query string) *websocket.ClientConn {
	h.t.Helper()
	c, err := h.dial(query)
	if err != nil {
		h.t.Fatalf("dial %s: %v", query, err)
	}
	return c
}

// read returns the next message, failing the test after 5 s.
func read(t *testing.T, c *websocket.ClientConn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(data)
}

// readText reads the next message and checks it is text.
func readText(t *testing.T, c *websocket.ClientConn) string {
	t.Helper()
	typ, s := read(t, c)
	if typ != websocket.TextMessage {
		t.Fatalf("got a %v message %q, want text", typ, s)
	}
	return s
}

func write(t *testing.T, c *websocket.ClientConn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// waitClosed reads until the connection ends and returns the close error.
func waitClosed(t *testing.T, c *websocket.ClientConn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("connection not closed within 5s")
			}
			return err
		}
	}
}

// eventually polls cond until it holds, failing after 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

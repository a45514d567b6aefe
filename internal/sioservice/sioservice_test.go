package sioservice

import (
	"bytes"
	"context"
	"github.com/switchboard/switchboard/internal/leakcheck"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

type msg struct {
	data   []byte
	binary bool
}

// fakeConn is a minimal Engine.IO session for driving the service.
type fakeConn struct {
	id   string
	out  chan msg
	mu   sync.Mutex
	done bool
	conn *socketio.Conn
}

func (f *fakeConn) ID() string { return f.id }
func (f *fakeConn) Send(d []byte, b bool) error {
	f.out <- msg{d, b}
	return nil
}
func (f *fakeConn) Close() error {
	f.mu.Lock()
	was := f.done
	f.done = true
	f.mu.Unlock()
	if !was {
		f.conn.Closed("forced close")
	}
	return nil
}

type client struct {
	t  *testing.T
	fc *fakeConn
}

func dial(t *testing.T, srv *socketio.Server, id string) *client {
	fc := &fakeConn{id: id, out: make(chan msg, 256)}
	c, err := srv.Open(fc, httptest.NewRequest("GET", "/socket.io/", nil))
	if err != nil {
		t.Fatal(err)
	}
	fc.conn = c
	cl := &client{t, fc}
	cl.send("0")
	cl.expectPrefix(`0{"sid":`)
	return cl
}

func (c *client) send(s string)    { c.fc.conn.Receive([]byte(s), false) }
func (c *client) sendBin(b []byte) { c.fc.conn.Receive(b, true) }
func (c *client) next() msg {
	c.t.Helper()
	select {
	case m := <-c.fc.out:
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatal("timeout")
		return msg{}
	}
}
func (c *client) expect(want string) {
	c.t.Helper()
	if m := c.next(); string(m.data) != want || m.binary {
		c.t.Fatalf("got %q, want %q", m.data, want)
	}
}
func (c *client) expectPrefix(want string) {
	c.t.Helper()
	if m := c.next(); !strings.HasPrefix(string(m.data), want) {
		c.t.Fatalf("got %q, want prefix %q", m.data, want)
	}
}
func (c *client) expectNone() {
	c.t.Helper()
	select {
	case m := <-c.fc.out:
		c.t.Fatalf("unexpected %q", m.data)
	case <-time.After(30 * time.Millisecond):
	}
}

func newService(t *testing.T) *socketio.Server {
	srv, err := socketio.New(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	Install(srv.Of("/"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

func TestJoinLeavePublish(t *testing.T) {
	srv := newService(t)
	a, b, c := dial(t, srv, "a"), dial(t, srv, "b"), dial(t, srv, "c")
	a.send(`21["join","room1"]`)
	a.expect(`31[{"ok":true,"room":"room1","members":1}]`)
	b.send(`22["join","room1"]`)
	b.expect(`32[{"ok":true,"room":"room1","members":2}]`)

	// Client data passes through byte for byte, key order kept.
	a.send(`23["publish",{"room":"room1","event":"chat","data":{"z":"<b>","a":[1,2.50]}}]`)
	b.expect(`2["chat",{"z":"<b>","a":[1,2.50]}]`)
	a.expect(`33[{"ok":true}]`)
	c.expectNone()

	// Binary passes through, renumbered.
	a.send(`51-4["publish",{"room":"room1","event":"file","data":{"name":"x","bytes":{"_placeholder":true,"num":0}}}]`)
	a.sendBin([]byte{1, 2, 3})
	b.expect(`51-["file",{"name":"x","bytes":{"_placeholder":true,"num":0}}]`)
	if m := b.next(); !m.binary || !bytes.Equal(m.data, []byte{1, 2, 3}) {
		t.Fatalf("attachment %v", m)
	}
	a.expect(`34[{"ok":true}]`)

	b.send(`25["leave","room1"]`)
	b.expect(`35[{"ok":true,"room":"room1"}]`)
	a.send(`26["publish",{"room":"room1","event":"chat","data":1}]`)
	a.expect(`36[{"ok":true}]`)
	b.expectNone()

	for _, bad := range []string{`27["join",5]`, `27["join",""]`, `27["publish",{"room":"r"}]`, `27["publish",{"room":"r","event":"disconnect"}]`, `27["publish","x"]`} {
		a.send(bad)
		a.expectPrefix(`37[{"ok":false,"error":`)
	}
}

func TestPublishAPI(t *testing.T) {
	srv := newService(t)
	a := dial(t, srv, "a")
	a.send(`21["join","news"]`)
	a.expectPrefix(`31[`)
	h := PublishHandler(srv.Of("/"), "s3cret", nil)
	tests := []struct {
		name, auth, body string
		code             int
		deliver          string
	}{
		{"ok", "Bearer s3cret", `{"room":"news","event":"headline","data":{"b":1,"a":"<&>"}}`, 200, `2["headline",{"b":1,"a":"<&>"}]`},
		{"no data", "Bearer s3cret", `{"room":"news","event":"ping"}`, 200, `2["ping"]`},
		{"bad key", "Bearer nope", `{"room":"news","event":"x","data":1}`, 401, ""},
		{"no key", "", `{"room":"news","event":"x","data":1}`, 401, ""},
		{"malformed", "Bearer s3cret", `{"room":`, 400, ""},
		{"missing event", "Bearer s3cret", `{"room":"news","data":1}`, 400, ""},
		{"reserved event", "Bearer s3cret", `{"room":"news","event":"connect"}`, 400, ""},
		{"not an object", "Bearer s3cret", `[1]`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/publish", strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.code, rec.Body)
			}
			if tt.deliver != "" {
				a.expect(tt.deliver)
			} else {
				a.expectNone()
			}
		})
	}
	rec := httptest.NewRecorder()
	PublishHandler(srv.Of("/"), "", nil).ServeHTTP(rec, withAuth(httptest.NewRequest("POST", "/api/publish", strings.NewReader(`{}`)), "Bearer "))
	if rec.Code != 401 {
		t.Fatalf("empty configured key: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/publish", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
}

func withAuth(r *http.Request, v string) *http.Request {
	r.Header.Set("Authorization", v)
	return r
}

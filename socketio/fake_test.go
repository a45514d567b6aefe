package socketio

import (
	"bytes"
	"context"
	"fmt"
	"github.com/switchboard/switchboard/internal/leakcheck"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// msg is one Engine.IO message sent by the server.
type msg struct {
	data   []byte
	binary bool
}

// fakeConn stands in for an Engine.IO session.
type fakeConn struct {
	id     string
	out    chan msg
	mu     sync.Mutex
	closed bool
	conn   *Conn
}

func (f *fakeConn) ID() string { return f.id }
func (f *fakeConn) Send(data []byte, binary bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("closed")
	}
	select {
	case f.out <- msg{data, binary}:
		return nil
	default:
		return fmt.Errorf("slow consumer")
	}
}
func (f *fakeConn) Close() error {
	f.mu.Lock()
	was := f.closed
	f.closed = true
	f.mu.Unlock()
	if !was && f.conn != nil {
		f.conn.Closed("forced server close")
	}
	return nil
}

// peer drives one fake connection from the client side.
type peer struct {
	t  *testing.T
	fc *fakeConn
}

var peerSeq struct {
	sync.Mutex
	n int
}

func newPeer(t *testing.T, srv *Server) *peer {
	t.Helper()
	peerSeq.Lock()
	peerSeq.n++
	id := fmt.Sprintf("eio%d", peerSeq.n)
	peerSeq.Unlock()
	fc := &fakeConn{id: id, out: make(chan msg, 4096)}
	r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket&x=1", nil)
	c, err := srv.Open(fc, r)
	if err != nil {
		t.Fatal(err)
	}
	fc.conn = c
	return &peer{t: t, fc: fc}
}

func (p *peer) send(s string)    { p.fc.conn.Receive([]byte(s), false) }
func (p *peer) sendBin(b []byte) { p.fc.conn.Receive(b, true) }
func (p *peer) drop(reason string) {
	p.fc.mu.Lock()
	p.fc.closed = true
	p.fc.mu.Unlock()
	p.fc.conn.Closed(reason)
}

// next returns the next message, failing after a generous timeout.
func (p *peer) next() msg {
	p.t.Helper()
	select {
	case m := <-p.fc.out:
		return m
	case <-time.After(5 * time.Second):
		p.t.Fatal("timed out waiting for a message")
		return msg{}
	}
}

func (p *peer) expect(want string) {
	p.t.Helper()
	m := p.next()
	if m.binary || string(m.data) != want {
		p.t.Fatalf("got %q (binary %v), want %q", m.data, m.binary, want)
	}
}

func (p *peer) expectPrefix(prefix string) string {
	p.t.Helper()
	m := p.next()
	if m.binary || !strings.HasPrefix(string(m.data), prefix) {
		p.t.Fatalf("got %q, want prefix %q", m.data, prefix)
	}
	return string(m.data)
}

func (p *peer) expectBin(want []byte) {
	p.t.Helper()
	m := p.next()
	if !m.binary || !bytes.Equal(m.data, want) {
		p.t.Fatalf("got %q (binary %v), want binary %q", m.data, m.binary, want)
	}
}

func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	select {
	case m := <-p.fc.out:
		p.t.Fatalf("unexpected message %q", m.data)
	case <-time.After(d):
	}
}

func (p *peer) isClosed() bool {
	p.fc.mu.Lock()
	defer p.fc.mu.Unlock()
	return p.fc.closed
}

func (p *peer) waitClosed() {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !p.isClosed() {
		if time.Now().After(deadline) {
			p.t.Fatal("connection not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// connect joins nsp and returns the socket id from the CONNECT reply.
func (p *peer) connect(nsp string) string {
	p.t.Helper()
	prefix := "0"
	if nsp != "/" {
		prefix += nsp + ","
	}
	p.send(prefix)
	reply := p.expectPrefix(prefix + `{"sid":"`)
	return strings.SplitN(reply[len(prefix)+8:], `"`, 2)[0]
}

func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

// protocolServer is the /socket.io/ setup of the socket.io-protocol test suite.
func protocolServer(t *testing.T, cfg Config) *Server {
	srv := newServer(t, cfg)
	for _, name := range []string{"/", "/custom"} {
		nsp := srv.Of(name)
		nsp.OnConnection(func(ctx context.Context, s *Socket) {
			s.Emit("auth", s.Handshake().Auth)
		})
		nsp.On("message", func(ctx context.Context, s *Socket, args Args) (any, error) {
			return nil, s.Emit("message-back", args.Values()...)
		})
		nsp.On("message-with-ack", func(ctx context.Context, s *Socket, args Args) (any, error) {
			return args, nil
		})
	}
	return srv
}

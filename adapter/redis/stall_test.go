package redisadapter

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/websocket"
)

// stallProxy forwards TCP connections to a server until paused: then it
// stops forwarding (the bytes wait in the kernel and in the proxy) until
// resumed, like a Redis that stopped answering without closing anything.
type stallProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	closed bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies from src to dst, holding each chunk while paused.
func (p *stallProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.paused && !p.closed {
				p.cond.Wait()
			}
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) pause(on bool) {
	p.mu.Lock()
	p.paused = on
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *stallProxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.mu.Unlock()
	p.cond.Broadcast()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// wsPeer is a /signal client over a real WebSocket.
type wsPeer struct{ cc *websocket.ClientConn }

func dialWS(t *testing.T, url string) *wsPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.CloseNow() })
	return &wsPeer{cc: cc}
}

func (p *wsPeer) send(t *testing.T, frame string) {
	t.Helper()
	if err := p.cc.Write(context.Background(), websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

func (p *wsPeer) next(t *testing.T) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, b, err := p.cc.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStalledRedisDoesNotStallTheLoop: one WebSocket event loop serves two
// signaling endpoints, one on Redis rooms reached through a proxy, one in
// memory. With the proxy stalled, a join on the Redis endpoint stays in
// flight, and meanwhile two peers on the other endpoint, on the same loop,
// join and exchange an offer and an answer. When the proxy resumes, the
// pending join completes. (Before the Rooms API was asynchronous, the join
// held the loop for OpTimeout, here a minute, and the other peers waited.)
func TestStalledRedisDoesNotStallTheLoop(t *testing.T) {
	proxy := startStallProxy(t, testutil.StartRedis(t))
	rdb := redis.NewClient(&redis.Options{Addr: proxy.addr(), MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	// Health pings and op timeouts far beyond the test: the stall is only
	// ended by the test.
	cl, err := New(rdb, Options{Logger: discardLogger(), HealthInterval: time.Minute, RequestsTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := cl.Rooms(RoomsOptions{OpTimeout: time.Minute, NodeTTL: 2 * time.Minute, HeartbeatInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cluster ready", 10*time.Second, cl.Ready)

	ws, err := websocket.NewServer(websocket.Config{Loops: 1, CheckOrigin: func(*http.Request) bool { return true }, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := signaling.New(signaling.Config{Rooms: rooms, WebSocket: ws, STUNURLs: []string{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := signaling.New(signaling.Config{WebSocket: ws, STUNURLs: []string{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/slow", slow)
	mux.Handle("/fast", fast)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); ws.Serve(ln, mux) }()
	t.Cleanup(func() {
		proxy.pause(false)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		slow.Shutdown(ctx)
		fast.Shutdown(ctx)
		ws.Shutdown(ctx)
		<-served
		cl.Shutdown(ctx)
		rdb.Close()
	})
	base := "ws://" + ln.Addr().String()

	a := dialWS(t, base+"/slow")
	b1, b2 := dialWS(t, base+"/fast"), dialWS(t, base+"/fast")

	proxy.pause(true)
	a.send(t, `{"type":"join","room":"stuck","name":"a"}`)
	b1.send(t, `{"type":"join","room":"free","name":"b1"}`)
	j1 := b1.next(t)
	if j1["type"] != "joined" {
		t.Fatalf("b1: %v", j1)
	}
	b2.send(t, `{"type":"join","room":"free","name":"b2"}`)
	j2 := b2.next(t)
	if j2["type"] != "joined" {
		t.Fatalf("b2: %v", j2)
	}
	if pj := b1.next(t); pj["type"] != "peer-joined" || pj["id"] != j2["id"] {
		t.Fatalf("b1: %v", pj)
	}
	b2.send(t, `{"type":"offer","to":"`+j1["id"].(string)+`","sdp":"v=0 o"}`)
	if m := b1.next(t); m["type"] != "offer" || m["from"] != j2["id"] {
		t.Fatalf("offer at b1: %v", m)
	}
	b1.send(t, `{"type":"answer","to":"`+j2["id"].(string)+`","sdp":"v=0 a"}`)
	if m := b2.next(t); m["type"] != "answer" {
		t.Fatalf("answer at b2: %v", m)
	}

	// The join on the stalled Redis was in flight all along: its first
	// frame comes only once Redis answers again, and it is the welcome.
	proxy.pause(false)
	if m := a.next(t); m["type"] != "joined" || m["room"] != "stuck" {
		t.Fatalf("a after the stall: %v", m)
	}
}

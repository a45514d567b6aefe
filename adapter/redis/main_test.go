package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/leakcheck"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// node is one in-process Switchboard node: a socketio.Server on a Cluster.
type node struct {
	cl  *Cluster
	srv *socketio.Server
	rdb *redis.Client
	log *logBuffer
}

func (n *node) nsp() *socketio.Namespace { return n.srv.Of("/") }

func (n *node) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.srv.Shutdown(ctx)
	n.cl.Shutdown(ctx)
	n.rdb.Close()
}

func newNode(t *testing.T, addr string, opts Options) *node {
	t.Helper()
	return newNodeConfig(t, addr, opts, socketio.Config{})
}

func newNodeConfig(t *testing.T, addr string, opts Options, cfg socketio.Config) *node {
	t.Helper()
	lb := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	cl, err := New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Adapter, cfg.Logger = cl.Adapter, opts.Logger
	srv, err := socketio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{cl: cl, srv: srv, rdb: rdb, log: lb}
	var once sync.Once
	t.Cleanup(func() { once.Do(n.stop) })
	waitFor(t, "node ready", 10*time.Second, cl.Ready)
	return n
}

// cluster starts a redis-server and n nodes on it, and waits until each
// node counts all of them.
func cluster(t *testing.T, n int) (string, []*node) {
	t.Helper()
	addr := testutil.StartRedis(t)
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = newNode(t, addr, Options{})
	}
	waitCount(t, nodes, n)
	return addr, nodes
}

func waitCount(t *testing.T, nodes []*node, want int) {
	t.Helper()
	for _, nd := range nodes {
		waitFor(t, fmt.Sprintf("server count %d", want), 10*time.Second, func() bool {
			n, err := nd.nsp().Adapter().ServerCount(context.Background())
			return err == nil && n == want
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// client is a Socket.IO client attached to a node through a fake Engine.IO
// session: what the server sends is decoded into packets.
type client struct {
	t    *testing.T
	id   string
	sid  string
	pid  string
	conn *socketio.Conn

	mu     sync.Mutex
	dec    packet.Decoder
	got    []*packet.Packet
	closed bool
}

var clientIDs atomic.Int64

func (c *client) ID() string { return c.id }

func (c *client) Send(data []byte, binary bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := c.dec.Decode(data, binary)
	if err != nil {
		c.t.Errorf("client %s: server sent an undecodable message %q: %v", c.id, data, err)
		return nil
	}
	if p != nil {
		c.got = append(c.got, p)
	}
	return nil
}

func (c *client) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		c.conn.Closed("forced close")
	}
	return nil
}

// connect attaches a client to n's main namespace and waits for its sid.
func connect(t *testing.T, n *node) *client {
	t.Helper()
	return connectAuth(t, n, "")
}

// connectAuth connects with an auth payload (JSON, "" for none).
func connectAuth(t *testing.T, n *node, auth string) *client {
	t.Helper()
	return connectNsp(t, n, "", auth)
}

// connectNsp connects to namespace nsp ("" for "/").
func connectNsp(t *testing.T, n *node, nsp, auth string) *client {
	t.Helper()
	c := &client{t: t, id: fmt.Sprintf("eio%d", clientIDs.Add(1))}
	conn, err := n.srv.Open(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.conn = conn
	if nsp != "" {
		nsp += ","
	}
	conn.Receive([]byte("0"+nsp+auth), false)
	p := c.wait(t, func(p *packet.Packet) bool { return p.Type == packet.Connect })
	var hello struct{ SID, PID string }
	if err := json.Unmarshal(p.Data, &hello); err != nil || hello.SID == "" {
		t.Fatalf("connect reply %s: %v", p.Data, err)
	}
	c.sid, c.pid = hello.SID, hello.PID
	return c
}

// wait returns the first received packet matching f.
func (c *client) wait(t *testing.T, f func(*packet.Packet) bool) *packet.Packet {
	t.Helper()
	var found *packet.Packet
	waitFor(t, "packet at client "+c.id, 10*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.got {
			if f(p) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

func eventName(p *packet.Packet) string {
	if p.Type != packet.Event && p.Type != packet.BinaryEvent {
		return ""
	}
	elems, err := packet.SplitArray(p.Data)
	if err != nil || len(elems) == 0 {
		return ""
	}
	var name string
	json.Unmarshal(elems[0], &name)
	return name
}

// waitEvent returns the first event called name.
func (c *client) waitEvent(t *testing.T, name string) *packet.Packet {
	t.Helper()
	return c.wait(t, func(p *packet.Packet) bool { return eventName(p) == name })
}

// count is the number of received events called name.
func (c *client) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.got {
		if eventName(p) == name {
			n++
		}
	}
	return n
}

// send delivers a packet from the client to the server.
func (c *client) send(p *packet.Packet) {
	text, bins := packet.Encode(p)
	c.conn.Receive(text, false)
	for _, b := range bins {
		c.conn.Receive(b, true)
	}
}

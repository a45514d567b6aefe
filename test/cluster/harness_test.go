package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	redisadapter "github.com/switchboard/switchboard/adapter/redis"
	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/leakcheck"
	"github.com/switchboard/switchboard/internal/sioservice"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/peerjs"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/socketio"
)

// TestMain runs the tests, or, with SWITCHBOARD_CLUSTER_NODE set to a Redis
// address, a standalone Go node for tests that kill one (see nodeProcess).
func TestMain(m *testing.M) {
	if addr := os.Getenv("SWITCHBOARD_CLUSTER_NODE"); addr != "" {
		os.Exit(nodeProcess(addr))
	}
	os.Exit(leakcheck.Run(m))
}

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

// goNode is an in-process Switchboard Socket.IO node: websocket + engineio +
// socketio with the Redis adapter and the binary's default-namespace
// service, on its own loopback port.
type goNode struct {
	url string
	cl  *redisadapter.Cluster
	sio *socketio.Server
}

func (n *goNode) nsp() *socketio.Namespace { return n.sio.Of("/") }

func startGoNode(t *testing.T, redisAddr string) *goNode {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	n, stop, err := serveNode(redisAddr, redisadapter.Options{Logger: log, MaxBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	waitFor(t, "go node ready", 10*time.Second, n.cl.Ready)
	return n
}

// The signaling heartbeat of the test nodes: a killed node's peers leave
// within nodeTTL + heartbeat.
const (
	nodeTTL   = 3 * time.Second
	heartbeat = 250 * time.Millisecond
)

// apiKey is the bearer key of the nodes' POST /api/publish.
const apiKey = "cluster-test-key"

// serveNode runs a node until stop is called.
func serveNode(redisAddr string, opts redisadapter.Options) (n *goNode, stop func(), err error) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	cl, err := redisadapter.New(rdb, opts)
	if err != nil {
		return nil, nil, err
	}
	// Connection-state recovery on, as in the binary.
	sio, err := socketio.New(socketio.Config{Adapter: cl.Adapter, Logger: opts.Logger, Recovery: &socketio.RecoveryConfig{}})
	if err != nil {
		return nil, nil, err
	}
	sioservice.Install(sio.Of("/"))
	eio, err := engineio.New(engineio.Config{Handler: sio.EngineHandler(), Logger: opts.Logger})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", eio)
	mux.Handle("/api/publish", sioservice.PublishHandler(sio.Of("/"), apiKey, opts.Logger))
	rooms, err := cl.Rooms(redisadapter.RoomsOptions{NodeTTL: nodeTTL, HeartbeatInterval: heartbeat})
	if err != nil {
		return nil, nil, err
	}
	sig, err := signaling.New(signaling.Config{Rooms: rooms, Logger: opts.Logger}) // STUN: the default entry, as the browser tests expect
	if err != nil {
		return nil, nil, err
	}
	mux.Handle("/signal", sig)
	pjc, err := cl.PeerJS(redisadapter.PeerJSOptions{IDTTL: pjIDTTL, RefreshInterval: pjRefresh})
	if err != nil {
		return nil, nil, err
	}
	pjs, err := peerjs.New(peerjs.Config{Cluster: pjc, LeaveGrace: 300 * time.Millisecond, Logger: opts.Logger})
	if err != nil {
		return nil, nil, err
	}
	mux.Handle("/peerjs", pjs)
	mux.Handle("/peerjs/", pjs)
	// The browser tests' pages and the peerjs client bundle, as
	// test/browser serves them (the working directory is test/cluster).
	mux.Handle("/pages/", http.StripPrefix("/pages/", http.FileServer(http.Dir(filepath.Join("..", "browser", "pages")))))
	mux.HandleFunc("/vendor/peerjs.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "node", "node_modules", "peerjs", "dist", "peerjs.min.js"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{Handler: mux}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(ln) }()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sio.Shutdown(ctx)
		eio.Shutdown(ctx)
		sig.Shutdown(ctx)
		pjs.Shutdown(ctx)
		hs.Shutdown(ctx)
		<-done
		cl.Shutdown(ctx)
		rdb.Close()
	}
	return &goNode{url: "http://" + ln.Addr().String(), cl: cl, sio: sio}, stop, nil
}

// nodeProcess is the body of a child process that serves one Go node and
// prints "listening URL" once it is ready; it runs until killed.
func nodeProcess(redisAddr string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n, _, err := serveNode(redisAddr, redisadapter.Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for !n.cl.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("listening", n.url)
	select {}
}

// jsProc is a Node.js script of this directory driven by JSON lines.
type jsProc struct {
	t     *testing.T
	p     *testutil.Process
	stdin io.WriteCloser

	mu    sync.Mutex
	buf   bytes.Buffer
	lines []map[string]any
	seq   int
}

func (j *jsProc) Write(b []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf.Write(b)
	for {
		line, err := j.buf.ReadBytes('\n')
		if err != nil {
			j.buf.Write(line) // keep the partial line
			return len(b), nil
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			j.lines = append(j.lines, m)
		}
	}
}

func startJS(t *testing.T, script string, args ...string) *jsProc {
	t.Helper()
	node := testutil.Node(t)
	testutil.NodeModules(t)
	dir := filepath.Join(testutil.RepoRoot(t), "test", "cluster")
	j := &jsProc{t: t}
	j.p = testutil.StartProcess(t, node, append([]string{filepath.Join(dir, script)}, args...), func(c *exec.Cmd) {
		c.Dir = dir
		c.Stdout = io.MultiWriter(c.Stdout, j)
		w, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		j.stdin = w
	})
	return j
}

// send writes one command; a "seq" is added and returned.
func (j *jsProc) send(cmd map[string]any) int {
	j.mu.Lock()
	j.seq++
	cmd["seq"] = j.seq
	seq := j.seq
	j.mu.Unlock()
	b, _ := json.Marshal(cmd)
	if _, err := j.stdin.Write(append(b, '\n')); err != nil {
		j.t.Fatalf("write to node: %v", err)
	}
	return seq
}

// wait returns the first line matching f.
func (j *jsProc) wait(t *testing.T, what string, f func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, what+"\n"+j.p.Output(), 15*time.Second, func() bool {
		j.mu.Lock()
		defer j.mu.Unlock()
		for _, l := range j.lines {
			if f(l) {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

func (j *jsProc) waitSeq(t *testing.T, ev string, seq int) map[string]any {
	t.Helper()
	return j.wait(t, fmt.Sprintf("%s #%d", ev, seq), func(l map[string]any) bool {
		return l["ev"] == ev && l["seq"] == float64(seq)
	})
}

// events returns the events client id received with the given name.
func (j *jsProc) events(id, event string) []map[string]any {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []map[string]any
	for _, l := range j.lines {
		if l["ev"] == "event" && l["id"] == id && l["event"] == event {
			out = append(out, l)
		}
	}
	return out
}

// clients drives npm socket.io-client sockets.
type clients struct {
	*jsProc
	sids map[string]string
}

func startClients(t *testing.T) *clients {
	c := &clients{jsProc: startJS(t, "clients.mjs"), sids: map[string]string{}}
	c.wait(t, "clients started", func(l map[string]any) bool { return l["ev"] == "started" })
	return c
}

// connect opens socket id on url and returns its sid.
func (c *clients) connect(t *testing.T, id, url string) string {
	t.Helper()
	c.send(map[string]any{"op": "connect", "id": id, "url": url})
	l := c.wait(t, "connect "+id, func(l map[string]any) bool {
		if l["id"] == id && l["ev"] == "connect_error" {
			t.Fatalf("connect %s: %v", id, l["message"])
		}
		return l["ev"] == "connected" && l["id"] == id
	})
	sid, _ := l["sid"].(string)
	c.sids[id] = sid
	return sid
}

// emitAck emits from socket id with an ack and returns the ack's arguments.
func (c *clients) emitAck(t *testing.T, id, event string, args ...any) []any {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	seq := c.send(map[string]any{"op": "emit", "id": id, "event": event, "args": args, "ack": true})
	l := c.waitSeq(t, "ack", seq)
	out, _ := l["args"].([]any)
	return out
}

// sentinel is an event name whose arrival at every listed client proves that
// everything broadcast before it from the same node has arrived.
func (c *clients) waitEvent(t *testing.T, id, event string) map[string]any {
	t.Helper()
	return c.wait(t, id+" gets "+event, func(l map[string]any) bool {
		return l["ev"] == "event" && l["id"] == id && l["event"] == event
	})
}

func bin(b []byte) map[string]any {
	return map[string]any{"$bin": base64.StdEncoding.EncodeToString(b)}
}

// unbin reads a {"$bin": ...} value.
func unbin(v any) []byte {
	m, _ := v.(map[string]any)
	s, _ := m["$bin"].(string)
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

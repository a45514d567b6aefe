package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/testutil"
)

// interopServer serves the handlers testdata/interop.mjs drives, on a fresh
// loopback port, with connection-state recovery on.
func interopServer(t *testing.T) string {
	t.Helper()
	sio, err := New(Config{Recovery: &RecoveryConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	nsp := sio.Of("/")
	nsp.On("echo", func(ctx context.Context, s *Socket, args Args) (any, error) { return args, nil })
	nsp.On("join", func(ctx context.Context, s *Socket, args Args) (any, error) {
		room, ok := args.String(0)
		if !ok {
			return nil, errors.New("room must be a string")
		}
		s.Join(room)
		return map[string]any{"ok": true}, nil
	})
	nsp.On("shout", func(ctx context.Context, s *Socket, args Args) (any, error) {
		var in struct{ Room, Except, Msg string }
		if err := args.Decode(0, &in); err != nil {
			return nil, err
		}
		return nil, s.To(in.Room).Except(in.Except).Emit("shout", in.Msg)
	})
	nsp.On("broadcast", func(ctx context.Context, s *Socket, args Args) (any, error) {
		var in struct {
			Room string
			N    int
		}
		if err := args.Decode(0, &in); err != nil {
			return nil, err
		}
		return nil, nsp.To(in.Room).Emit("rec", in.N)
	})
	nsp.On("burst", func(ctx context.Context, s *Socket, args Args) (any, error) {
		var in struct {
			Room string
			N    int
		}
		if err := args.Decode(0, &in); err != nil {
			return nil, err
		}
		for i := range in.N {
			if err := nsp.To(in.Room).Emit("seq", i); err != nil {
				return nil, err
			}
		}
		return true, nil
	})
	nsp.On("volatile", func(ctx context.Context, s *Socket, args Args) (any, error) {
		var n int
		args.Decode(0, &n)
		for i := range n {
			s.EmitVolatile("vol", i)
		}
		return true, nil
	})
	nsp.On("ask-client", func(ctx context.Context, s *Socket, args Args) (any, error) {
		var n int
		args.Decode(0, &n)
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		reply, err := s.EmitWithAck(ctx, "question", n)
		if err != nil {
			return nil, err
		}
		var r struct {
			Answer int
			Blob   []byte
		}
		if err := reply.Decode(0, &r); err != nil || len(r.Blob) != 1 {
			return nil, s.Emit("answer-was", "bad reply")
		}
		return nil, s.Emit("answer-was", map[string]any{"answer": r.Answer, "blob": int(r.Blob[0])})
	})
	nsp.On("ask-ignored", func(ctx context.Context, s *Socket, args Args) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if _, err := s.EmitWithAck(ctx, "question-ignored"); errors.Is(err, context.DeadlineExceeded) {
			return nil, s.Emit("ask-timeout", "timeout")
		}
		return nil, s.Emit("ask-timeout", "no timeout")
	})
	nsp.On("slow", func(ctx context.Context, s *Socket, args Args) (any, error) {
		var ms int
		args.Decode(0, &ms)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
		}
		return nil, nil
	})
	sio.Of("/private").Use(func(ctx context.Context, s *Socket) error {
		var auth struct{ Token string }
		if err := json.Unmarshal(s.Handshake().Auth, &auth); err != nil || auth.Token != "good" {
			return &ConnectError{Message: "not allowed", Data: map[string]any{"code": 4001}}
		}
		return nil
	})

	eio, err := engineio.New(engineio.Config{Handler: sio.EngineHandler()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", eio)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sio.Shutdown(ctx); err != nil {
			t.Errorf("socketio shutdown: %v", err)
		}
		// A session the client abandoned mid-handshake (the refused
		// namespace case) ends only with its heartbeat; engineio closes it by
		// force when ctx ends and reports ctx's error.
		if err := eio.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("engineio shutdown: %v", err)
		}
		hs.Shutdown(ctx)
		<-served
	})
	return "http://" + ln.Addr().String()
}

// TestInteropSocketIOClient runs the npm socket.io-client 4.8 against the
// server: polling-only, websocket-only and upgrade; text and binary; acks both
// ways with timeouts; rooms with except; middleware rejection; recovery;
// volatile; a 100-client room broadcast delivered once, in order.
func TestInteropSocketIOClient(t *testing.T) {
	if testing.Short() {
		t.Skip("interop test")
	}
	node := testutil.Node(t)
	modules := testutil.NodeModules(t)
	url := interopServer(t)
	cases := []string{"basics-polling", "basics-websocket", "basics-upgrade", "rooms", "middleware", "recovery", "volatile", "big-room"}
	script, _ := filepath.Abs("testdata/interop.mjs")
	p := testutil.StartProcess(t, node, append([]string{script, url}, cases...), func(c *exec.Cmd) {
		c.Env = append(c.Environ(), "NODE_MODULES="+modules)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := p.Wait(ctx)
	out := p.Output()
	for _, c := range cases {
		if !strings.Contains(out, "ok "+c+"\n") {
			t.Errorf("case %s did not pass", c)
		}
	}
	if err != nil {
		t.Fatalf("interop.mjs: %v\n%s", err, out)
	}
}

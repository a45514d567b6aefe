package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEmitWithAckFromServer(t *testing.T) {
	srv := newServer(t, Config{})
	got := make(chan string, 1)
	srv.On("ask", func(ctx context.Context, s *Socket, args Args) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		reply, err := s.EmitWithAck(ctx, "question", 1, []byte("bin"))
		if err != nil {
			got <- "error: " + err.Error()
			return nil, nil
		}
		var n int
		reply.Decode(0, &n)
		b, _ := reply.Bytes(1)
		got <- fmt.Sprintf("%d %s", n, b)
		return nil, nil
	})
	p := newPeer(t, srv)
	p.connect("/")
	p.send(`2["ask"]`)
	hdr := p.expectPrefix(`51-`)
	id := strings.TrimPrefix(strings.SplitN(hdr, "[", 2)[0], "51-")
	if hdr != `51-`+id+`["question",1,{"_placeholder":true,"num":0}]` {
		t.Fatalf("header %q", hdr)
	}
	p.expectBin([]byte("bin"))
	p.send(`61-` + id + `[42,{"_placeholder":true,"num":0}]`)
	p.sendBin([]byte("yes"))
	if r := <-got; r != "42 yes" {
		t.Fatalf("handler saw %q", r)
	}
}

func TestEmitWithAckTimeoutAndDisconnect(t *testing.T) {
	srv := newServer(t, Config{})
	errs := make(chan error, 2)
	srv.On("ask", func(ctx context.Context, s *Socket, args Args) (any, error) {
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		_, err := s.EmitWithAck(short, "q")
		errs <- err
		_, err = s.EmitWithAck(ctx, "q2") // ends with the disconnect
		errs <- err
		return nil, nil
	})
	p := newPeer(t, srv)
	p.connect("/")
	p.send(`2["ask"]`)
	p.expectPrefix(`2`)
	if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first wait: %v", err)
	}
	p.expectPrefix(`2`)
	p.drop("transport close")
	if err := <-errs; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("second wait: %v", err)
	}
}

func TestHandlerErrorAndTypedHandler(t *testing.T) {
	srv := newServer(t, Config{})
	Handle(srv.Of("/"), "add", func(ctx context.Context, s *Socket, in struct{ A, B int }) (int, error) {
		if in.A < 0 {
			return 0, errors.New("negative")
		}
		return in.A + in.B, nil
	})
	srv.On("multi", func(ctx context.Context, s *Socket, args Args) (any, error) {
		return Multi{"a", nil, map[string]any{"b": []byte{7}}}, nil
	})
	p := newPeer(t, srv)
	p.connect("/")
	p.send(`21["add",{"A":2,"B":3}]`)
	p.expect(`31[5]`)
	p.send(`22["add",{"A":-1}]`)
	p.expect(`32[{"message":"negative"}]`)
	p.send(`23["add","nope"]`)
	p.expectPrefix(`33[{"message":"socketio: argument 0: json: cannot unmarshal`)
	p.send(`24["multi"]`)
	p.expect(`61-4["a",null,{"b":{"_placeholder":true,"num":0}}]`)
	p.expectBin([]byte{7})
}

func TestMiddleware(t *testing.T) {
	srv := newServer(t, Config{})
	srv.Use(func(ctx context.Context, s *Socket) error {
		if s.Handshake().Query.Get("x") != "1" {
			return errors.New("no x")
		}
		return nil
	})
	priv := srv.Of("/private")
	priv.Use(func(ctx context.Context, s *Socket) error {
		return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 4001}}
	})
	priv.OnConnection(func(ctx context.Context, s *Socket) { t.Error("connection handler ran after refusal") })
	p := newPeer(t, srv)
	p.connect("/")
	p.send(`0/private,{"token":"x"}`)
	p.expect(`4/private,{"message":"not authorized","data":{"code":4001}}`)
	if len(priv.Sockets()) != 0 {
		t.Fatal("refused socket kept")
	}
	// The connection itself stays usable.
	srv.On("ping", func(ctx context.Context, s *Socket, args Args) (any, error) { return "pong", nil })
	p.send(`29["ping"]`)
	p.expect(`39["pong"]`)
}

func TestPacketMiddleware(t *testing.T) {
	srv := newServer(t, Config{})
	var seen []string
	var mu sync.Mutex
	srv.Of("/").UsePacket(func(ctx context.Context, s *Socket, event string, args Args) error {
		if event == "forbidden" {
			return errors.New("forbidden event")
		}
		return nil
	})
	srv.Of("/").OnError(func(s *Socket, err error) {
		mu.Lock()
		seen = append(seen, err.Error())
		mu.Unlock()
	})
	srv.On("ok", func(ctx context.Context, s *Socket, args Args) (any, error) { return true, nil })
	p := newPeer(t, srv)
	p.connect("/")
	p.send(`21["forbidden"]`)
	p.expect(`31[{"message":"forbidden event"}]`)
	p.send(`22["ok"]`)
	p.expect(`32[true]`)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("errors reported: %v", seen)
	}
}

func TestRoomsAndBroadcast(t *testing.T) {
	srv := newServer(t, Config{})
	srv.On("join", func(ctx context.Context, s *Socket, args Args) (any, error) {
		room, _ := args.String(0)
		s.Join(room)
		return nil, nil
	})
	srv.On("shout", func(ctx context.Context, s *Socket, args Args) (any, error) {
		return nil, s.To("r").Emit("heard", args.Values()...)
	})
	peers := make([]*peer, 4)
	ids := make([]string, 4)
	for i := range peers {
		peers[i] = newPeer(t, srv)
		ids[i] = peers[i].connect("/")
		if i < 3 {
			peers[i].send(`21["join","r"]`)
			peers[i].expect(`31[]`)
		}
	}
	peers[0].send(`2["shout",{"b":1,"a":2}]`)
	for _, i := range []int{1, 2} {
		peers[i].expect(`2["heard",{"b":1,"a":2}]`)
	}
	// To/Except from the namespace.
	if err := srv.Of("/").To("r").Except(ids[1]).Emit("x", 1); err != nil {
		t.Fatal(err)
	}
	peers[0].expect(`2["x",1]`)
	peers[2].expect(`2["x",1]`)
	// Everyone.
	before := srv.Stats()
	srv.Of("/").Emit("all")
	for _, p := range peers {
		p.expect(`2["all"]`)
	}
	if st := srv.Stats(); st.Broadcasts != before.Broadcasts+1 || st.Deliveries != before.Deliveries+uint64(len(peers)) {
		t.Fatalf("Stats after a broadcast to %d sockets: %+v, before %+v", len(peers), st, before)
	}
	peers[1].expectNothing(20 * time.Millisecond)
	peers[3].expectNothing(0)

	// Server-side operations.
	socks, err := srv.Of("/").In("r").FetchSockets(context.Background())
	if err != nil || len(socks) != 3 {
		t.Fatalf("FetchSockets: %d %v", len(socks), err)
	}
	srv.Of("/").In(ids[3]).SocketsJoin("r2")
	srv.Of("/").In("r").SocketsLeave("r")
	srv.Of("/").To("r2").Emit("r2")
	peers[3].expect(`2["r2"]`)
	if n := srv.Of("/").Adapter().(*MemoryAdapter).RoomSize("r"); n != 0 {
		t.Fatalf("room r has %d members", n)
	}
	srv.Of("/").In("r2").DisconnectSockets(false)
	peers[3].expect(`1`)
}

func TestBroadcastAck(t *testing.T) {
	srv := newServer(t, Config{})
	peers := make([]*peer, 3)
	for i := range peers {
		peers[i] = newPeer(t, srv)
		peers[i].connect("/")
	}
	type result struct {
		replies []Args
		err     error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := srv.Of("/").EmitWithAck(ctx, "vote")
		done <- result{r, err}
	}()
	for i, p := range peers {
		hdr := p.expectPrefix("2")
		id := strings.TrimSuffix(strings.TrimPrefix(hdr, "2"), `["vote"]`)
		if i == 2 {
			p.drop("transport close") // counts as answered
			continue
		}
		p.send(fmt.Sprintf("3%s[%d]", id, i))
	}
	r := <-done
	if r.err != nil || len(r.replies) != 2 {
		t.Fatalf("replies %v err %v", r.replies, r.err)
	}

	// Cancelled with partial replies: q never answers. Receive handles an
	// ACK synchronously, so both replies are recorded before cancel.
	q := newPeer(t, srv)
	q.connect("/")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for _, p := range peers[:2] {
			hdr := p.expectPrefix("2")
			id := strings.TrimSuffix(strings.TrimPrefix(hdr, "2"), `["vote2"]`)
			p.send("3" + id + "[true]")
		}
		q.expectPrefix("2")
		cancel()
	}()
	replies, err := srv.Of("/").EmitWithAck(ctx, "vote2")
	if !errors.Is(err, context.Canceled) || len(replies) != 2 {
		t.Fatalf("replies %d err %v", len(replies), err)
	}
}

func TestDisconnectReasons(t *testing.T) {
	srv := newServer(t, Config{})
	type ev struct {
		kind   string
		reason DisconnectReason
		rooms  int
	}
	evs := make(chan ev, 10)
	nsp := srv.Of("/")
	nsp.OnDisconnecting(func(s *Socket, r DisconnectReason) { evs <- ev{"disconnecting", r, len(s.Rooms())} })
	nsp.OnDisconnect(func(s *Socket, r DisconnectReason) { evs <- ev{"disconnect", r, len(s.Rooms())} })
	nsp.On("bye", func(ctx context.Context, s *Socket, args Args) (any, error) {
		s.Disconnect(false)
		return nil, nil
	})
	for _, tc := range []struct {
		do   func(p *peer)
		want DisconnectReason
	}{
		{func(p *peer) { p.send("1") }, ReasonClientNamespaceDisconnect},
		{func(p *peer) { p.drop("ping timeout") }, ReasonPingTimeout},
		{func(p *peer) { p.send(`2["bye"]`); p.expect("1") }, ReasonServerNamespaceDisconnect},
		{func(p *peer) { p.send("2[") }, ReasonParseError},
	} {
		p := newPeer(t, srv)
		p.connect("/")
		tc.do(p)
		a, b := <-evs, <-evs
		if a != (ev{"disconnecting", tc.want, 1}) || b != (ev{"disconnect", tc.want, 0}) {
			t.Fatalf("got %v %v, want reason %q", a, b, tc.want)
		}
	}
}

func TestFloodDisconnects(t *testing.T) {
	srv := newServer(t, Config{MaxPendingPackets: 4})
	release := make(chan struct{})
	srv.On("slow", func(ctx context.Context, s *Socket, args Args) (any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil
	})
	p := newPeer(t, srv)
	p.connect("/")
	for range 20 {
		p.send(`2["slow"]`)
	}
	p.waitClosed()
	close(release)
}

func TestDynamicNamespaces(t *testing.T) {
	srv := newServer(t, Config{})
	parent := srv.OfFunc(func(ctx context.Context, name string, auth json.RawMessage) bool {
		return strings.HasPrefix(name, "/dyn-")
	})
	parent.On("where", func(ctx context.Context, s *Socket, args Args) (any, error) {
		return s.Namespace().Name(), nil
	})
	p := newPeer(t, srv)
	p.connect("/dyn-1")
	p.send(`2/dyn-1,5["where"]`)
	p.expect(`3/dyn-1,5["/dyn-1"]`)
	p.send("0/other")
	p.expect(`4/other,{"message":"Invalid namespace"}`)
	if len(parent.Children()) != 1 {
		t.Fatal("child not recorded")
	}
	parent.On("join", func(ctx context.Context, s *Socket, args Args) (any, error) {
		s.Join("r")
		return nil, nil
	})
	q := newPeer(t, srv)
	q.connect("/dyn-2")
	q.send(`2/dyn-2,1["join"]`)
	q.expect(`3/dyn-2,1[]`)
	if err := parent.To("r").Emit("hello", 1); err != nil {
		t.Fatal(err)
	}
	q.expect(`2/dyn-2,["hello",1]`)
	p.expectNothing(20 * time.Millisecond) // in /dyn-1 but not in room r
	parent.Emit("all")
	p.expect(`2/dyn-1,["all"]`)
	q.expect(`2/dyn-2,["all"]`)
}

func TestEmitEncodingByteExact(t *testing.T) {
	srv := newServer(t, Config{})
	p := newPeer(t, srv)
	p.connect("/")
	socks := srv.Of("/").Sockets()
	if err := socks[0].Emit("e", "<&>", map[string]any{"b": 1, "a": []any{1.5, nil}}); err != nil {
		t.Fatal(err)
	}
	p.expect(`2["e","<&>",{"a":[1.5,null],"b":1}]`)
	if err := socks[0].Emit("disconnect"); err == nil {
		t.Fatal("reserved event emitted")
	}
}

func TestNoAck(t *testing.T) {
	srv := newServer(t, Config{})
	srv.On("quiet", func(ctx context.Context, s *Socket, args Args) (any, error) { return NoAck, nil })
	srv.On("empty", func(ctx context.Context, s *Socket, args Args) (any, error) { return nil, nil })
	p := newPeer(t, srv)
	p.connect("/")
	p.send(`21["quiet"]`)
	p.send(`22["empty"]`)
	p.expect(`32[]`)
}

func TestServerSideEmitSingleNode(t *testing.T) {
	srv := newServer(t, Config{})
	nsp := srv.Of("/")
	if err := nsp.ServerSideEmit(context.Background(), "hello", 1); err != nil {
		t.Fatal(err)
	}
	replies, err := nsp.ServerSideEmitWithAck(context.Background(), "hello")
	if err != nil || len(replies) != 0 {
		t.Fatalf("single node: %v %v", replies, err)
	}
	nsp.OnServerSideEmit(func(ctx context.Context, event string, args Args) (any, error) {
		var n int
		args.Decode(0, &n)
		return Multi{event, n + 1}, nil
	})
	out, err := nsp.HandleServerSideEmit(context.Background(), "inc", NewArgs([]json.RawMessage{json.RawMessage("41")}, nil))
	if err != nil || len(out) != 2 || out[0] != "inc" || out[1] != 42 {
		t.Fatalf("handler answer %v %v", out, err)
	}
	if n, _ := nsp.Adapter().ServerCount(context.Background()); n != 1 {
		t.Fatalf("ServerCount %d", n)
	}
}

func TestHandlerPanicIsContained(t *testing.T) {
	srv := newServer(t, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	reasons := make(chan DisconnectReason, 1)
	srv.Of("/").OnDisconnect(func(s *Socket, r DisconnectReason) {
		if r == ReasonServerError {
			reasons <- r
		}
	})
	srv.On("boom", func(ctx context.Context, s *Socket, args Args) (any, error) { panic("boom") })
	srv.On("ok", func(ctx context.Context, s *Socket, args Args) (any, error) { return true, nil })
	p, q := newPeer(t, srv), newPeer(t, srv)
	p.connect("/")
	q.connect("/")
	p.send(`2["boom"]`)
	p.waitClosed()
	if r := <-reasons; r != ReasonServerError {
		t.Fatalf("reason %q", r)
	}
	q.send(`21["ok"]`)
	q.expect(`31[true]`)
}

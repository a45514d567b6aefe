package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// A session is one connection of one client slot, from dial to close.
type session interface {
	// tick does the client's periodic send (echo, relay); a no-op for
	// Socket.IO clients, whose broadcasts come from the publisher.
	tick()
	// stop marks the moment the client stops expecting new messages; it
	// keeps reading until check.
	stop()
	// check tallies what the client was owed and did not get.
	check()
	// close ends the connection, with a close handshake when graceful.
	close(graceful bool)
	// done is closed when the connection has ended, for any reason.
	done() <-chan struct{}
	// err is why the connection ended, once done is closed.
	err() error
}

// base is what every session shares: the end-of-connection bookkeeping.
type base struct {
	r       *runner
	name    string // kind/slot/generation, unique in the run
	doneCh  chan struct{}
	endOnce sync.Once
	endErr  error
	closing atomic.Bool // we are closing it: its end is no drop

	mu      sync.Mutex
	stopped time.Time
}

func newBase(r *runner, name string) base { return base{r: r, name: name, doneCh: make(chan struct{})} }

func (b *base) done() <-chan struct{} { return b.doneCh }
func (b *base) err() error            { <-b.doneCh; return b.endErr }

func (b *base) end(err error) {
	b.endOnce.Do(func() {
		b.endErr = err
		close(b.doneCh)
	})
}

func (b *base) stop() {
	b.mu.Lock()
	b.stopped = time.Now()
	b.mu.Unlock()
}

func (b *base) stoppedAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopped
}

// ---- WebSocket echo ----

type echoSession struct {
	base
	ws      *websocket.ClientConn
	seq     int
	pending map[int]time.Time // guarded by mu
	got     bitset            // guarded by mu
}

func (r *runner) openEcho(ctx context.Context, name string) (session, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+r.cfg.Addr+"/echo", &websocket.DialOptions{NetDial: r.netDial})
	if err != nil {
		return nil, err
	}
	s := &echoSession{base: newBase(r, name), ws: ws, pending: map[int]time.Time{}}
	go s.read()
	return s, nil
}

func (s *echoSession) read() {
	prefix := s.name + ":"
	for {
		_, b, err := s.ws.Read(context.Background())
		if err != nil {
			s.end(err)
			return
		}
		now := time.Now()
		c := &s.r.echo
		rest, ok := strings.CutPrefix(string(b), prefix)
		seq, err := strconv.Atoi(rest)
		if !ok || err != nil {
			c.Unexpected.Add(1)
			s.r.note("echo: unexpected message %.60q on %s", b, s.name)
			continue
		}
		s.mu.Lock()
		sent, pending := s.pending[seq]
		delete(s.pending, seq)
		dup := s.got.add(seq)
		s.mu.Unlock()
		switch {
		case dup:
			c.Duplicates.Add(1)
			s.r.note("echo: duplicate %d on %s", seq, s.name)
		case !pending:
			c.Unexpected.Add(1)
			s.r.note("echo: never sent %d on %s", seq, s.name)
		default:
			c.Received.Add(1)
			c.lat.add(now.Sub(sent))
		}
	}
}

func (s *echoSession) tick() {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.pending[seq] = time.Now()
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.r.echo.Sent.Add(1)
	if err := s.ws.Write(ctx, websocket.TextMessage, []byte(s.name+":"+strconv.Itoa(seq))); err != nil {
		s.r.echo.Failed.Add(1)
		s.mu.Lock()
		delete(s.pending, seq)
		s.mu.Unlock()
	}
}

func (s *echoSession) check() {
	stopped := s.stoppedAt()
	s.mu.Lock()
	defer s.mu.Unlock()
	var owed int64
	for seq, sent := range s.pending {
		if sent.Before(stopped) {
			owed++
			s.r.note("echo: %s lost %d", s.name, seq)
		}
	}
	s.r.echo.Expected.Add(int64(s.seq))
	s.r.echo.Lost.Add(owed)
}

func (s *echoSession) close(graceful bool) {
	s.closing.Store(true)
	if graceful {
		_ = s.ws.Close(websocket.StatusNormalClosure, "")
	} else {
		_ = s.ws.CloseNow()
	}
	<-s.doneCh
}

// ---- Socket.IO (Engine.IO v4, Socket.IO v5), over WebSocket or polling ----

type sioSession struct {
	base
	room string
	ws   *websocket.ClientConn // one of ws and poll
	poll *pollTransport

	connected   chan struct{} // closed on the CONNECT answer
	connectOnce sync.Once
	joined      time.Time
	acks        map[int]chan json.RawMessage // guarded by mu
	nextAck     int                          // guarded by mu
	gotAPI      bitset                       // guarded by mu
	gotSock     bitset                       // guarded by mu
}

// pollTransport is the client side of Engine.IO long-polling: one GET loop,
// and POSTs one at a time (overlapping POSTs close the session, by the spec).
type pollTransport struct {
	url    string // with sid
	hc     *http.Client
	pmu    sync.Mutex
	ctx    context.Context // cancelled to abort the outstanding GET
	cancel context.CancelFunc
}

func (p *pollTransport) post(body string) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", p.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST: %d %.100s", resp.StatusCode, b)
	}
	return nil
}

func (p *pollTransport) get() (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET: %d %.100s", resp.StatusCode, b)
	}
	return string(b), nil
}

func (r *runner) openSio(ctx context.Context, name string, room string, polling bool) (session, error) {
	s := &sioSession{base: newBase(r, name), room: room, connected: make(chan struct{}), acks: map[int]chan json.RawMessage{}}
	if polling {
		url := "http://" + r.cfg.Addr + "/socket.io/?EIO=4&transport=polling"
		p := &pollTransport{url: url, hc: r.httpc}
		p.ctx, p.cancel = context.WithCancel(context.Background())
		open, err := p.get()
		if err != nil {
			p.cancel()
			return nil, fmt.Errorf("polling handshake: %w", err)
		}
		sid, err := openSID(open)
		if err != nil {
			p.cancel()
			return nil, err
		}
		p.url += "&sid=" + sid
		s.poll = p
		if err := p.post("40"); err != nil {
			p.cancel()
			return nil, fmt.Errorf("polling connect: %w", err)
		}
		go s.pollLoop()
	} else {
		ws, _, err := websocket.Dial(ctx, "ws://"+r.cfg.Addr+"/socket.io/?EIO=4&transport=websocket", &websocket.DialOptions{NetDial: r.netDial})
		if err != nil {
			return nil, err
		}
		_, open, err := ws.Read(ctx)
		if err == nil {
			_, err = openSID(string(open))
		}
		if err == nil {
			err = ws.Write(ctx, websocket.TextMessage, []byte("40"))
		}
		if err != nil {
			_ = ws.CloseNow()
			return nil, fmt.Errorf("websocket open: %w", err)
		}
		s.ws = ws
		go s.wsLoop()
	}
	select {
	case <-s.connected:
	case <-s.doneCh:
		s.close(false)
		return nil, fmt.Errorf("socket.io connect: %w", s.endErr)
	case <-ctx.Done():
		s.close(false)
		return nil, fmt.Errorf("socket.io connect: %w", ctx.Err())
	}
	ack, err := s.emitAck(ctx, "join", room)
	if err == nil && !bytes.Contains(ack, []byte(`"ok":true`)) {
		err = fmt.Errorf("join ack %s", ack)
	}
	if err != nil {
		s.close(false)
		return nil, fmt.Errorf("join: %w", err)
	}
	s.mu.Lock()
	s.joined = time.Now()
	s.mu.Unlock()
	r.rooms.add(room, s)
	return s, nil
}

// openSID reads the sid of an Engine.IO open packet: 0{"sid":...}.
func openSID(pkt string) (string, error) {
	var open struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(pkt, "0") || json.Unmarshal([]byte(pkt[1:]), &open) != nil || open.SID == "" {
		return "", fmt.Errorf("not an open packet: %.100q", pkt)
	}
	return open.SID, nil
}

func (s *sioSession) wsLoop() {
	for {
		_, b, err := s.ws.Read(context.Background())
		if err != nil {
			s.end(err)
			return
		}
		s.handle(string(b))
	}
}

func (s *sioSession) pollLoop() {
	for {
		body, err := s.poll.get()
		if err != nil {
			s.end(err)
			return
		}
		for _, pkt := range strings.Split(body, "\x1e") {
			if !s.handle(pkt) {
				return
			}
		}
	}
}

func (s *sioSession) send(pkt string) error {
	if s.poll != nil {
		return s.poll.post(pkt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.ws.Write(ctx, websocket.TextMessage, []byte(pkt))
}

// handle processes one Engine.IO packet; false when the session ended.
func (s *sioSession) handle(pkt string) bool {
	if pkt == "" {
		return true
	}
	switch pkt[0] {
	case '2': // ping
		if err := s.send("3"); err != nil && !s.closing.Load() {
			s.r.note("socket.io: %s pong: %v", s.name, err)
		}
	case '6': // noop
	case '1':
		s.end(errors.New("engine.io close packet"))
		return false
	case '4':
		return s.handleSIO(pkt[1:])
	default:
		s.r.note("socket.io: %s: unexpected packet %.60q", s.name, pkt)
	}
	return true
}

func (s *sioSession) handleSIO(p string) bool {
	if p == "" {
		return true
	}
	switch p[0] {
	case '0':
		s.connectOnce.Do(func() { close(s.connected) })
	case '1':
		s.end(errors.New("socket.io disconnect packet"))
		return false
	case '4':
		s.end(fmt.Errorf("connect_error %.100s", p[1:]))
		return false
	case '3':
		i := strings.IndexByte(p, '[')
		id, err := strconv.Atoi(p[1:max(i, 1)])
		if i < 0 || err != nil {
			s.r.note("socket.io: %s: bad ack %.60q", s.name, p)
			return true
		}
		s.mu.Lock()
		ch := s.acks[id]
		delete(s.acks, id)
		s.mu.Unlock()
		if ch != nil {
			ch <- json.RawMessage(p[i:])
		}
	case '2':
		s.event(p[1:])
	default:
		s.r.note("socket.io: %s: unexpected packet %.60q", s.name, p)
	}
	return true
}

// broadcast is the data of every soak broadcast.
type broadcast struct {
	Room string `json:"r"`
	Seq  int    `json:"s"`
	Kind string `json:"k"` // "a": POST /api/publish, "s": a socket's publish event
	Sent int64  `json:"t"` // unix ns
}

func (s *sioSession) event(p string) {
	now := time.Now()
	var args []json.RawMessage
	var b broadcast
	if i := strings.IndexByte(p, '['); i < 0 || json.Unmarshal([]byte(p[i:]), &args) != nil || len(args) < 2 ||
		string(args[0]) != `"soak"` || json.Unmarshal(args[1], &b) != nil {
		s.r.sioAPI.Unexpected.Add(1)
		s.r.note("socket.io: %s: unexpected event %.80q", s.name, p)
		return
	}
	c, got := &s.r.sioAPI, &s.gotAPI
	if b.Kind == "s" {
		c, got = &s.r.sioSock, &s.gotSock
	}
	if b.Room != s.room {
		c.Unexpected.Add(1)
		s.r.note("socket.io: %s in %s got a broadcast to %s", s.name, s.room, b.Room)
		return
	}
	s.mu.Lock()
	dup := got.add(b.Seq)
	s.mu.Unlock()
	if dup {
		c.Duplicates.Add(1)
		s.r.note("socket.io: %s: duplicate %s %s#%d", s.name, b.Kind, b.Room, b.Seq)
		return
	}
	c.Received.Add(1)
	c.lat.add(now.Sub(time.Unix(0, b.Sent)))
}

// emitAck emits event(args) with an ack id and waits for the ack.
func (s *sioSession) emitAck(ctx context.Context, event string, args ...any) (json.RawMessage, error) {
	payload, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return nil, err
	}
	ch := make(chan json.RawMessage, 1)
	s.mu.Lock()
	id := s.nextAck
	s.nextAck++
	s.acks[id] = ch
	s.mu.Unlock()
	if err := s.send("42" + strconv.Itoa(id) + string(payload)); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-s.doneCh:
		return nil, fmt.Errorf("closed: %w", s.endErr)
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (s *sioSession) tick() {}

func (s *sioSession) stop() {
	s.r.rooms.remove(s.room, s)
	s.base.stop()
}

func (s *sioSession) check() {
	stopped := s.stoppedAt()
	s.mu.Lock()
	joined := s.joined
	s.mu.Unlock()
	for _, x := range []struct {
		l   *ledger
		c   *counter
		got *bitset
	}{{s.r.ledAPI, &s.r.sioAPI, &s.gotAPI}, {s.r.ledSock, &s.r.sioSock, &s.gotSock}} {
		s.mu.Lock()
		lost, expected := x.l.missing(s.room, s.name, joined, stopped, x.got)
		s.mu.Unlock()
		x.c.Expected.Add(int64(expected))
		x.c.Lost.Add(int64(lost))
		if lost > 0 {
			s.r.note("socket.io: %s in %s lost %d of %d", s.name, s.room, lost, expected)
		}
	}
}

func (s *sioSession) close(graceful bool) {
	if s.closing.Swap(true) {
		<-s.doneCh
		return
	}
	s.r.rooms.remove(s.room, s)
	if s.poll != nil {
		if graceful {
			_ = s.poll.post("41\x1e1") // Socket.IO disconnect, Engine.IO close
		}
		s.poll.cancel()
		s.end(errors.New("closed by client"))
		return
	}
	if graceful {
		_ = s.send("41")
		_ = s.ws.Close(websocket.StatusNormalClosure, "")
	} else {
		_ = s.ws.CloseNow()
	}
	<-s.doneCh
}

// sioRooms tracks the joined Socket.IO sessions of each room, for socket
// publishes.
type sioRooms struct {
	mu sync.Mutex
	m  map[string]map[*sioSession]struct{}
}

func (r *sioRooms) add(room string, s *sioSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[room] == nil {
		r.m[room] = map[*sioSession]struct{}{}
	}
	r.m[room][s] = struct{}{}
}

func (r *sioRooms) remove(room string, s *sioSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m[room], s)
}

func (r *sioRooms) pick(room string) *sioSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.m[room])
	if n == 0 {
		return nil
	}
	i := rand.IntN(n)
	for s := range r.m[room] {
		if i == 0 {
			return s
		}
		i--
	}
	return nil
}

// ---- signaling ----

type sigSession struct {
	base
	ws     *websocket.ClientConn
	id     string
	room   string
	peers  map[string]bool // guarded by mu
	got    map[int64]bool  // relay ids received; guarded by mu
	joined time.Time
}

type sigFrame struct {
	Type      string                `json:"type"`
	ID        string                `json:"id"`
	From      string                `json:"from"`
	Code      string                `json:"code"`
	Message   string                `json:"message"`
	Peers     []struct{ ID string } `json:"peers"`
	Candidate struct {
		Soak int64 `json:"soak"`
		T    int64 `json:"t"`
	} `json:"candidate"`
}

func (r *runner) openSignal(ctx context.Context, name, room string) (session, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+r.cfg.Addr+"/signal", &websocket.DialOptions{NetDial: r.netDial})
	if err != nil {
		return nil, err
	}
	s := &sigSession{base: newBase(r, name), ws: ws, room: room, peers: map[string]bool{}, got: map[int64]bool{}}
	join, _ := json.Marshal(map[string]string{"type": "join", "room": room, "name": name})
	var f sigFrame
	err = ws.Write(ctx, websocket.TextMessage, join)
	if err == nil {
		var b []byte
		if _, b, err = ws.Read(ctx); err == nil {
			if err = json.Unmarshal(b, &f); err == nil && f.Type != "joined" {
				err = fmt.Errorf("join answered %.200s", b)
			}
		}
	}
	if err != nil {
		_ = ws.CloseNow()
		return nil, err
	}
	s.id, s.joined = f.ID, time.Now()
	for _, p := range f.Peers {
		s.peers[p.ID] = true
	}
	go s.read()
	return s, nil
}

func (s *sigSession) read() {
	for {
		_, b, err := s.ws.Read(context.Background())
		if err != nil {
			s.end(err)
			return
		}
		now := time.Now()
		var f sigFrame
		if err := json.Unmarshal(b, &f); err != nil {
			s.r.note("signal: %s: bad frame %.80q", s.name, b)
			continue
		}
		switch f.Type {
		case "peer-joined":
			s.r.presence.Received.Add(1)
			s.mu.Lock()
			dup := s.peers[f.ID]
			s.peers[f.ID] = true
			s.mu.Unlock()
			if dup {
				s.r.presence.Duplicates.Add(1)
				s.r.note("signal: %s: duplicate peer-joined %s", s.name, f.ID)
			}
		case "peer-left":
			s.mu.Lock()
			delete(s.peers, f.ID)
			s.mu.Unlock()
		case "candidate":
			c := &s.r.relay
			s.mu.Lock()
			dup := s.got[f.Candidate.Soak]
			s.got[f.Candidate.Soak] = true
			s.mu.Unlock()
			if dup {
				c.Duplicates.Add(1)
				s.r.note("signal: %s: duplicate relay %d", s.name, f.Candidate.Soak)
				continue
			}
			if !s.r.relays.known(s.id, f.Candidate.Soak) {
				c.Unexpected.Add(1)
				s.r.note("signal: %s: relay %d from %s was not sent to it", s.name, f.Candidate.Soak, f.From)
				continue
			}
			c.Received.Add(1)
			c.lat.add(now.Sub(time.Unix(0, f.Candidate.T)))
		case "error":
			if f.Code == "unknown_peer" {
				s.r.unknownPeer.Add(1) // the target left before we saw peer-left
			} else {
				s.r.note("signal: %s: error %s %s", s.name, f.Code, f.Message)
				s.r.sigErrors.Add(1)
			}
		default:
			s.r.note("signal: %s: unexpected frame %.80q", s.name, b)
		}
	}
}

func (s *sigSession) tick() {
	s.mu.Lock()
	var to string
	if n := len(s.peers); n > 0 {
		i := rand.IntN(n)
		for p := range s.peers {
			if i == 0 {
				to = p
				break
			}
			i--
		}
	}
	s.mu.Unlock()
	if to == "" {
		return
	}
	id := s.r.relays.sent(to)
	frame := fmt.Sprintf(`{"type":"candidate","to":%q,"candidate":{"soak":%d,"t":%d}}`, to, id, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.r.relay.Sent.Add(1)
	if err := s.ws.Write(ctx, websocket.TextMessage, []byte(frame)); err != nil {
		s.r.relay.Failed.Add(1)
	}
}

func (s *sigSession) check() {
	s.mu.Lock()
	defer s.mu.Unlock()
	lost, expected := s.r.relays.missing(s.id, s.stopped, s.got)
	s.r.relay.Expected.Add(int64(expected))
	s.r.relay.Lost.Add(int64(lost))
	if lost > 0 {
		s.r.note("signal: %s (%s) lost %d of %d relays", s.name, s.id, lost, expected)
	}
}

func (s *sigSession) close(graceful bool) {
	s.closing.Store(true)
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.ws.Write(ctx, websocket.TextMessage, []byte(`{"type":"leave"}`))
		cancel()
		_ = s.ws.Close(websocket.StatusNormalClosure, "")
	} else {
		_ = s.ws.CloseNow()
	}
	<-s.doneCh
	s.r.relays.forget(s.id)
}

// relayLog records the relays sent to each signaling peer and when.
type relayLog struct {
	mu   sync.Mutex
	next int64
	m    map[string]map[int64]time.Time
}

func (l *relayLog) sent(to string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	if l.m[to] == nil { // the target may not have read its joined frame yet
		l.m[to] = map[int64]time.Time{}
	}
	l.m[to][l.next] = time.Now()
	return l.next
}

func (l *relayLog) known(to string, id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.m[to][id]
	return ok
}

// missing counts the relays sent to id before it stopped that it did not get.
func (l *relayLog) missing(id string, stopped time.Time, got map[int64]bool) (lost, expected int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for rid, t := range l.m[id] {
		if t.Before(stopped) {
			expected++
			if !got[rid] {
				lost++
			}
		}
	}
	return lost, expected
}

func (l *relayLog) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
}

// Command sigload measures a signaling server: how fast peers join, and how
// long offers, answers and candidates take to reach the addressed peer,
// with every peer connected. It speaks Switchboard's /signal protocol
// (-proto signal: rooms of two) or the PeerJS server protocol (-proto
// peerjs: Switchboard's /peerjs or the stock npm `peer` server).
//
// Phases: connect every peer (-conc at a time); join (signal: a join frame
// answered by joined; peerjs: the WebSocket handshake answered by OPEN),
// timed one by one and as a rate; then relay for -duration at -rate frames
// per second in all, cycling offer → answer → candidate within pairs,
// each frame carrying its send time. With -pid, the server's CPU time
// (utime+stime from /proc) is reported per phase.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

type peer struct {
	cc      *websocket.ClientConn
	index   int
	id      string
	partner *peer
	joined  chan string // signal: the id from joined; peerjs: "OPEN"
}

type recorder struct {
	mu   sync.Mutex
	lat  map[string][]time.Duration
	recv atomic.Int64
	errs atomic.Int64
	last atomic.Value // last error frame
}

func (r *recorder) add(typ string, d time.Duration) {
	r.mu.Lock()
	r.lat[typ] = append(r.lat[typ], d)
	r.mu.Unlock()
	r.recv.Add(1)
}

var (
	proto    = flag.String("proto", "signal", "signal or peerjs")
	url      = flag.String("url", "ws://127.0.0.1:8090/signal", "WebSocket URL (peerjs: up to the path; ?key=… is added)")
	peers    = flag.Int("peers", 10000, "peers to connect (pairs share a room)")
	conc     = flag.Int("conc", 200, "connections or joins in flight at once")
	rate     = flag.Int("rate", 4000, "relayed frames per second, in all")
	duration = flag.Duration("duration", 10*time.Second, "relay phase length")
	sdpSize  = flag.Int("sdp", 2000, "bytes of SDP in offers and answers")
	pid      = flag.Int("pid", 0, "server process id, to report its CPU time per phase")
	label    = flag.String("label", "", "name of the server in the report")
)

func main() {
	flag.Parse()
	if *peers%2 != 0 {
		fmt.Fprintln(os.Stderr, "-peers must be even")
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sigload:", err)
		os.Exit(1)
	}
}

func run() error {
	rec := &recorder{lat: map[string][]time.Duration{}}
	ps := make([]*peer, *peers)
	for i := range ps {
		ps[i] = &peer{index: i, joined: make(chan string, 1)}
	}
	for i := 0; i < len(ps); i += 2 {
		ps[i].partner, ps[i+1].partner = ps[i+1], ps[i]
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()

	// Phase 1 (signal): connect everyone, then join. PeerJS joins by
	// connecting, so its connect phase is its join phase.
	cpu0 := serverCPU()
	t0 := time.Now()
	joinLat := make([]time.Duration, len(ps))
	err := parallel(len(ps), *conc, func(i int) error {
		p := ps[i]
		u := *url
		if *proto == "peerjs" {
			p.id = fmt.Sprintf("p%d", i)
			u += fmt.Sprintf("?key=peerjs&id=%s&token=t%d&version=1.5.5", p.id, i)
		}
		start := time.Now()
		dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
		defer dcancel()
		cc, _, err := websocket.Dial(dctx, u, nil)
		if err != nil {
			return fmt.Errorf("peer %d: %w", i, err)
		}
		p.cc = cc
		readers.Add(1)
		go func() { defer readers.Done(); read(ctx, p, rec) }()
		if *proto == "peerjs" {
			select {
			case <-p.joined:
			case <-dctx.Done():
				return fmt.Errorf("peer %d: no OPEN", i)
			}
			joinLat[i] = time.Since(start)
		}
		return nil
	})
	if err != nil {
		return err
	}
	connectTime := time.Since(t0)
	cpuConnect := serverCPU() - cpu0
	fmt.Printf("server %s proto %s peers %d\n", *label, *proto, *peers)
	fmt.Printf("connect: %d in %v (%.0f/s), server CPU %v (%.1f µs/peer)\n", len(ps), connectTime.Round(time.Millisecond),
		float64(len(ps))/connectTime.Seconds(), cpuConnect, us(cpuConnect)/float64(len(ps)))

	if *proto == "signal" {
		cpu0 = serverCPU()
		t0 = time.Now()
		err = parallel(len(ps), *conc, func(i int) error {
			p := ps[i]
			start := time.Now()
			frame := fmt.Appendf(nil, `{"type":"join","room":"room-%d","name":"peer %d"}`, i/2, i)
			if err := write(ctx, p, frame); err != nil {
				return err
			}
			select {
			case p.id = <-p.joined:
			case <-time.After(30 * time.Second):
				return fmt.Errorf("peer %d: no joined", i)
			}
			joinLat[i] = time.Since(start)
			return nil
		})
		if err != nil {
			return err
		}
		joinTime := time.Since(t0)
		cpuJoin := serverCPU() - cpu0
		fmt.Printf("join: %d in %v (%.0f joins/s), server CPU %v (%.1f µs/join)\n", len(ps), joinTime.Round(time.Millisecond),
			float64(len(ps))/joinTime.Seconds(), cpuJoin, us(cpuJoin)/float64(len(ps)))
	}
	fmt.Printf("join latency: %s\n", pcts(joinLat))

	// Phase 2: relay at a fixed total rate, spread over senders.
	sdp := "v=0\r\n" + strings.Repeat("a=x-padding:0123456789abcdef\r\n", *sdpSize/30)
	types := []string{"offer", "answer", "candidate"}
	const senders = 8
	var sent atomic.Int64
	var sendErr atomic.Value
	cpu0 = serverCPU()
	t0 = time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			interval := time.Duration(float64(time.Second) * senders / float64(*rate))
			next := time.Now()
			for k := s; time.Since(t0) < *duration; k += senders {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				pair := (k / 3) % (len(ps) / 2)
				typ := types[k%3]
				// The newer peer of the pair offers, the older answers,
				// both send candidates.
				from := ps[2*pair+1]
				if typ == "answer" || (typ == "candidate" && (k/3)%2 == 0) {
					from = ps[2*pair]
				}
				if err := write(ctx, from, relayFrame(typ, from.partner.id, sdp)); err != nil {
					sendErr.Store(err)
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	sendTime := time.Since(t0)
	// Wait for stragglers.
	for deadline := time.Now().Add(5 * time.Second); rec.recv.Load() < sent.Load() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cpuRelay := serverCPU() - cpu0
	if err, _ := sendErr.Load().(error); err != nil {
		return err
	}
	n, got := sent.Load(), rec.recv.Load()
	fmt.Printf("relay: %d sent in %v (%.0f/s), %d received, %d lost, %d error frames; server CPU %v (%.1f µs/frame)\n",
		n, sendTime.Round(time.Millisecond), float64(n)/sendTime.Seconds(), got, n-got, rec.errs.Load(), cpuRelay, us(cpuRelay)/float64(max(got, 1)))
	if e := rec.last.Load(); e != nil {
		fmt.Printf("last error frame: %s\n", e)
	}
	rec.mu.Lock()
	for _, typ := range types {
		fmt.Printf("relay latency %-9s %s\n", typ+":", pcts(rec.lat[typ]))
	}
	var all []time.Duration
	for _, l := range rec.lat {
		all = append(all, l...)
	}
	rec.mu.Unlock()
	fmt.Printf("relay latency %-9s %s\n", "all:", pcts(all))

	cancel()
	for _, p := range ps {
		_ = p.cc.CloseNow()
	}
	return nil
}

func relayFrame(typ, to, sdp string) []byte {
	ts := time.Now().UnixNano()
	if *proto == "peerjs" {
		up := strings.ToUpper(typ)
		if typ == "candidate" {
			return fmt.Appendf(nil, `{"type":%q,"dst":%q,"payload":{"candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0},"type":"media","connectionId":"mc_bench","ts":%d}}`, up, to, ts)
		}
		return fmt.Appendf(nil, `{"type":%q,"dst":%q,"payload":{"sdp":{"type":%q,"sdp":%q},"type":"media","connectionId":"mc_bench","ts":%d}}`, up, to, typ, sdp, ts)
	}
	if typ == "candidate" {
		return fmt.Appendf(nil, `{"type":"candidate","to":%q,"candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0},"ts":%d}`, to, ts)
	}
	return fmt.Appendf(nil, `{"type":%q,"to":%q,"sdp":%q,"ts":%d}`, typ, to, sdp, ts)
}

func write(ctx context.Context, p *peer, frame []byte) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return p.cc.Write(wctx, websocket.TextMessage, frame)
}

// read handles every frame a peer receives until ctx ends.
func read(ctx context.Context, p *peer, rec *recorder) {
	for {
		_, data, err := p.cc.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		typ := field(data, `"type":"`)
		switch typ {
		case "joined":
			var j struct{ ID string }
			_ = json.Unmarshal(data, &j)
			p.joined <- j.ID
		case "OPEN":
			p.joined <- "OPEN"
		case "offer", "answer", "candidate", "OFFER", "ANSWER", "CANDIDATE":
			if ts, err := strconv.ParseInt(field(data, `"ts":`), 10, 64); err == nil {
				rec.add(strings.ToLower(typ), time.Duration(now-ts))
			}
		case "error", "ERROR", "EXPIRE", "ID-TAKEN":
			rec.errs.Add(1)
			rec.last.Store(string(data))
		}
	}
}

// field returns what follows key in data, up to the next '"', ',' or '}'.
func field(data []byte, key string) string {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return ""
	}
	rest := data[i+len(key):]
	end := bytes.IndexAny(rest, `",}`)
	if end < 0 {
		return ""
	}
	return string(rest[:end])
}

// parallel runs f(0..n-1) with at most k in flight; the first error wins.
func parallel(n, k int, f func(int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func pcts(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	p := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v max=%v", len(s), p(.5).Round(time.Microsecond), p(.9).Round(time.Microsecond), p(.99).Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}

// serverCPU returns the -pid process's user+system CPU time, or 0.
func serverCPU() time.Duration {
	if *pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", *pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3; utime and stime are fields 14 and 15, in clock ticks (100/s).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

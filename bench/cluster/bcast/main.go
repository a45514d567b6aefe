// Command bcast measures broadcast delivery through a Socket.IO cluster:
// -conns receivers spread round-robin over the nodes of -addrs join one
// room, and a publisher on the first node emits "publish" (the benchmark
// contract of shared/bench/sio) -msgs times, keeping -window broadcasts in
// flight; a broadcast is complete when every receiver has it. It prints one
// JSON line: deliveries per second, all-received latency percentiles, and,
// with -pids, the CPU the listed processes (nodes, redis-server) spent per
// delivered message.
//
// Receivers join with the event -join-event: "join" is the binary's, which
// counts the room's members across the cluster with fetchSockets on every
// join; the nodes of bench/cluster also offer "sub", a plain join, so that
// setting up 10,000 receivers does not cost O(n²) fetches.
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

func main() {
	addrs := flag.String("addrs", "127.0.0.1:9321", "comma-separated HOST:PORT of the nodes")
	conns := flag.Int("conns", 10000, "receivers")
	msgs := flag.Int("msgs", 20, "measured broadcasts")
	warmup := flag.Int("warmup", 3, "unmeasured broadcasts first")
	window := flag.Int("window", 1, "broadcasts in flight")
	size := flag.Int("size", 64, "bytes of data per message")
	joinEvent := flag.String("join-event", "sub", "event receivers join the room with")
	pids := flag.String("pids", "", "comma-separated PIDs whose CPU is measured")
	label := flag.String("label", "", "copied into the result")
	timeout := flag.Duration("timeout", 180*time.Second, "limit for the whole run")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := run(ctx, strings.Split(*addrs, ","), *conns, *msgs, *warmup, *window, *size, *joinEvent, parsePIDs(*pids))
	res["label"] = *label
	if err != nil {
		res["error"] = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	if err != nil {
		os.Exit(1)
	}
}

func parsePIDs(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ, 100 on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

type client struct {
	cc *websocket.ClientConn
}

// dial opens a Socket.IO connection to the main namespace.
func dial(ctx context.Context, addr string) (*client, error) {
	cc, _, err := websocket.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return nil, err
	}
	c := &client{cc: cc}
	if _, err := c.expect(ctx, "0"); err != nil {
		return nil, err
	}
	if err := c.send(ctx, "40"); err != nil {
		return nil, err
	}
	if _, err := c.expect(ctx, "40"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *client) send(ctx context.Context, s string) error {
	return c.cc.Write(ctx, websocket.TextMessage, []byte(s))
}

// expect reads until a message with prefix arrives, answering pings.
func (c *client) expect(ctx context.Context, prefix string) ([]byte, error) {
	for {
		_, b, err := c.cc.Read(ctx)
		if err != nil {
			return nil, err
		}
		if string(b) == "2" {
			c.send(ctx, "3")
			continue
		}
		if bytes.HasPrefix(b, []byte(prefix)) {
			return b, nil
		}
	}
}

func run(ctx context.Context, addrs []string, conns, msgs, warmup, window, size int, joinEvent string, pids []int) (map[string]any, error) {
	res := map[string]any{"nodes": len(addrs), "conns": conns, "msgs": msgs, "window": window, "size": size}
	total := warmup + msgs
	var (
		mu       sync.Mutex
		got      = make([]int, total)
		sentAt   = make([]time.Time, total)
		doneAt   = make([]time.Time, total)
		complete = make(chan int, total)
		dups     atomic.Int64
	)
	// Set up the receivers, 64 at a time.
	recv := make([]*client, conns)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var setupErr atomic.Value
	start := time.Now()
	for i := range recv {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := dial(ctx, addrs[i%len(addrs)])
			if err == nil {
				err = c.send(ctx, `421["`+joinEvent+`","bench"]`)
			}
			if err == nil {
				_, err = c.expect(ctx, "431")
			}
			if err != nil {
				setupErr.Store(fmt.Errorf("receiver %d: %w", i, err))
				return
			}
			recv[i] = c
		}()
	}
	wg.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		return res, err
	}
	res["setup_s"] = time.Since(start).Seconds()
	// Read loops: count each broadcast once per receiver.
	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	var readers sync.WaitGroup
	for _, c := range recv {
		readers.Add(1)
		go func() {
			defer readers.Done()
			seen := make([]bool, total)
			for {
				_, b, err := c.cc.Read(readCtx)
				if err != nil {
					return
				}
				if string(b) == "2" {
					c.send(readCtx, "3")
					continue
				}
				// 42["m","<seq>:...",...]
				i := bytes.Index(b, []byte(`["m","`))
				if i < 0 {
					continue
				}
				rest := b[i+6:]
				j := bytes.IndexByte(rest, ':')
				seq, err := strconv.Atoi(string(rest[:max(j, 0)]))
				if err != nil || seq < 0 || seq >= total {
					continue
				}
				if seen[seq] {
					dups.Add(1)
					continue
				}
				seen[seq] = true
				mu.Lock()
				got[seq]++
				if got[seq] == conns {
					doneAt[seq] = time.Now()
					complete <- seq
				}
				mu.Unlock()
			}
		}()
	}
	defer func() {
		stopRead()
		for _, c := range recv {
			c.cc.CloseNow()
		}
		readers.Wait()
	}()

	pub, err := dial(ctx, addrs[0])
	if err != nil {
		return res, fmt.Errorf("publisher: %w", err)
	}
	defer pub.cc.CloseNow()
	go func() { // the publisher answers pings and swallows acks
		for {
			_, b, err := pub.cc.Read(readCtx)
			if err != nil {
				return
			}
			if string(b) == "2" {
				pub.send(readCtx, "3")
			}
		}
	}()
	publish := func(seq int) error {
		data := strconv.Itoa(seq) + ":"
		data += strings.Repeat("x", max(0, size-len(data)))
		mu.Lock()
		sentAt[seq] = time.Now()
		mu.Unlock()
		return pub.send(ctx, fmt.Sprintf(`42%d["publish",{"room":"bench","event":"m","data":%q}]`, seq+1, data))
	}
	var cpu0 int64
	var t0 time.Time
	next, inflight := 0, 0
	for finished := 0; finished < total; {
		for inflight < window && next < total {
			if next == warmup {
				// Measure from the first measured publish, once the
				// warmup broadcasts are complete.
				for inflight > 0 {
					select {
					case <-complete:
						inflight--
						finished++
					case <-ctx.Done():
						return res, stalled(ctx, got, conns)
					}
				}
				t0 = time.Now()
				for _, p := range pids {
					cpu0 += cpuTicks(p)
				}
			}
			if err := publish(next); err != nil {
				return res, err
			}
			next++
			inflight++
		}
		select {
		case <-complete:
			inflight--
			finished++
		case <-ctx.Done():
			return res, stalled(ctx, got, conns)
		}
	}
	elapsed := time.Since(t0)
	var cpu1 int64
	for _, p := range pids {
		cpu1 += cpuTicks(p)
	}
	delivered := float64(msgs * conns)
	res["delivered"] = msgs * conns
	res["duplicates"] = dups.Load()
	res["delivered_per_sec"] = delivered / elapsed.Seconds()
	var lat []float64
	for i := warmup; i < total; i++ {
		lat = append(lat, float64(doneAt[i].Sub(sentAt[i]).Microseconds())/1000)
	}
	slices.Sort(lat)
	res["all_p50_ms"] = lat[len(lat)/2]
	res["all_p99_ms"] = lat[(len(lat)*99)/100]
	if len(pids) > 0 {
		res["server_cpu_us_per_delivered"] = float64(cpu1-cpu0) * 1e4 / delivered // ticks are 10 ms
	}
	return res, nil
}

func stalled(ctx context.Context, got []int, conns int) error {
	return fmt.Errorf("%w: deliveries per broadcast %v of %d", ctx.Err(), got, conns)
}

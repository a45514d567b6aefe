package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type kind int

const (
	kEcho kind = iota
	kSioWS
	kSioPoll
	kSignal
	nKinds
)

var kindNames = [nKinds]string{"echo", "sio-ws", "sio-poll", "signal"}

type runner struct {
	cfg   Config
	httpc *http.Client
	tr    *http.Transport
	src   atomic.Uint32

	ledAPI, ledSock *ledger
	rooms           sioRooms
	relays          relayLog

	echo, sioAPI, sioSock, relay, presence counter
	unknownPeer, sigErrors                 atomic.Int64

	active     [nKinds]atomic.Int64
	opened     [nKinds]atomic.Int64
	failed     [nKinds]atomic.Int64
	drops      [nKinds]atomic.Int64
	churned    atomic.Int64
	peak       atomic.Int64
	notesMu    sync.Mutex
	notes      []string
	notesN     int
	samplesM   sync.Mutex
	samples    []Sample
	start      time.Time
	phase      atomic.Value // string
	publishing atomic.Int64
	stalledAt  atomic.Int64 // seconds into the run + 1 when deliveries stopped altogether; 0: never
}

// Report is the soak's JSON output.
type Report struct {
	Config      Config                   `json:"config"`
	Started     time.Time                `json:"started"`
	RampSeconds float64                  `json:"ramp_seconds"`
	Seconds     float64                  `json:"seconds"`
	Connections map[string]ConnReport    `json:"connections"`
	PeakClients int64                    `json:"peak_clients"`
	Churned     int64                    `json:"churned"`
	Messages    map[string]counterReport `json:"messages"`
	UnknownPeer int64                    `json:"signal_unknown_peer"` // relays to a peer that had just left (allowed)
	SigErrors   int64                    `json:"signal_errors"`       // other error frames
	Samples     []Sample                 `json:"samples"`
	Bounds      BoundsReport             `json:"bounds"`
	Notes       []string                 `json:"notes,omitempty"` // the first problems seen, for diagnosis
	Violations  []string                 `json:"violations"`
	Pass        bool                     `json:"pass"`
}

type ConnReport struct {
	Target int   `json:"target"`
	Opened int64 `json:"opened"`
	Failed int64 `json:"dial_failures"`
	Drops  int64 `json:"server_drops"` // connections that ended without the client closing them
}

// Sample is one scrape of the server's /metrics.
type Sample struct {
	T          float64 `json:"t_s"`
	Phase      string  `json:"phase"`
	Clients    int64   `json:"clients"`
	RSSMiB     float64 `json:"rss_mib"`
	Goroutines int     `json:"goroutines"`
	WSConns    int     `json:"ws_connections"`
	EIO        int     `json:"engineio_sessions"`
	SigPeers   int     `json:"signaling_peers"`
	HeapMiB    float64 `json:"heap_inuse_mib"`
}

type BoundsReport struct {
	BaselineGoroutines  int     `json:"baseline_goroutines"`
	BaselineRSSMiB      float64 `json:"baseline_rss_mib"`
	FirstHalfRSSMiB     float64 `json:"steady_first_half_peak_rss_mib"`
	SecondHalfRSSMiB    float64 `json:"steady_second_half_peak_rss_mib"`
	RSSGrowth           float64 `json:"rss_growth"`
	FirstHalfGoroutines int     `json:"steady_first_half_peak_goroutines"`
	SecondHalfGoroutine int     `json:"steady_second_half_peak_goroutines"`
	FinalGoroutines     int     `json:"goroutines_after_drain"`
	FinalRSSMiB         float64 `json:"rss_after_drain_mib"`
	PerConnKiB          float64 `json:"rss_per_connection_kib"`
}

// note keeps the first problems for the report.
func (r *runner) note(format string, args ...any) {
	r.notesMu.Lock()
	defer r.notesMu.Unlock()
	r.notesN++
	if len(r.notes) < 40 {
		r.notes = append(r.notes, fmt.Sprintf("%.1fs ", time.Since(r.start).Seconds())+fmt.Sprintf(format, args...))
	}
}

func (r *runner) logf(format string, args ...any) {
	if !r.cfg.Quiet {
		fmt.Fprintf(os.Stderr, "soak %6.1fs "+format+"\n", append([]any{time.Since(r.start).Seconds()}, args...)...)
	}
}

// netDial dials from the next source address in turn.
func (r *runner) netDial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 15 * time.Second}
	if n := len(r.cfg.Sources); n > 0 {
		ip := net.ParseIP(r.cfg.Sources[int(r.src.Add(1))%n])
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return d.DialContext(ctx, network, addr)
}

// Run runs one soak against cfg.Addr and returns its report. It returns an
// error only when the run could not start (server unreachable, bad config).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.SignalRoomSize < 2 || cfg.SioRoomSize < 1 || cfg.RampRate < 1 || cfg.Duration <= 0 {
		return nil, errors.New("room sizes, ramp rate and duration must be positive (signal rooms of at least 2)")
	}
	r := &runner{cfg: cfg, ledAPI: newLedger(), ledSock: newLedger(), start: time.Now()}
	r.rooms.m = map[string]map[*sioSession]struct{}{}
	r.relays.m = map[string]map[int64]time.Time{}
	r.phase.Store("baseline")
	r.tr = &http.Transport{DialContext: r.netDial, MaxIdleConns: 0, MaxIdleConnsPerHost: cfg.SioPoll*2 + 64, IdleConnTimeout: 30 * time.Second}
	r.httpc = &http.Client{Transport: r.tr}
	defer r.tr.CloseIdleConnections()

	base, err := r.scrape()
	if err != nil {
		return nil, fmt.Errorf("server at %s: %w", cfg.Addr, err)
	}
	r.addSample(base)
	r.logf("baseline: %d goroutines, %.1f MiB RSS", base.Goroutines, base.RSSMiB)

	// Sampler.
	sampCtx, stopSampler := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		t := time.NewTicker(cfg.SampleEvery)
		defer t.Stop()
		var lastTotal int64
		lastProgress := time.Now()
		for {
			select {
			case <-sampCtx.Done():
				return
			case <-t.C:
				// A server that stops delivering altogether (a deadlock) is
				// reported as such, with when it started.
				if total := r.echo.Received.Load() + r.sioAPI.Received.Load() + r.sioSock.Received.Load() + r.relay.Received.Load(); total != lastTotal {
					lastTotal, lastProgress = total, time.Now()
				} else if r.totalActive() > 0 && r.phase.Load() == "steady" && time.Since(lastProgress) >= 30*time.Second && r.stalledAt.Load() == 0 {
					at := lastProgress.Sub(r.start).Seconds()
					r.stalledAt.Store(int64(at) + 1)
					r.note("STALL: no message delivered to any client since %.0fs", at)
					r.logf("STALL: no message delivered to any client since %.0fs", at)
				}
				if s, err := r.scrape(); err == nil {
					r.addSample(s)
					r.logf("%s: clients %d, server rss %.1f MiB, goroutines %d, ws %d, eio %d, sig %d; echo %d/%d sio %d+%d relay %d; lost %d dup %d drops %d",
						s.Phase, s.Clients, s.RSSMiB, s.Goroutines, s.WSConns, s.EIO, s.SigPeers,
						r.echo.Received.Load(), r.echo.Sent.Load(), r.sioAPI.Received.Load(), r.sioSock.Received.Load(), r.relay.Received.Load(),
						r.echo.Lost.Load()+r.sioAPI.Lost.Load()+r.sioSock.Lost.Load()+r.relay.Lost.Load(),
						r.echo.Duplicates.Load()+r.sioAPI.Duplicates.Load()+r.sioSock.Duplicates.Load()+r.relay.Duplicates.Load(),
						r.totalDrops())
				} else {
					r.note("scrape: %v", err)
				}
			}
		}
	}()

	// Slots: kind and index; each owns a churn channel.
	type slot struct {
		k     kind
		i     int
		churn chan struct{}
	}
	counts := [nKinds]int{cfg.Echo, cfg.SioWS, cfg.SioPoll, cfg.Signal}
	var slots []*slot
	for k := range nKinds {
		for i := range counts[k] {
			slots = append(slots, &slot{k: k, i: i, churn: make(chan struct{}, 1)})
		}
	}
	rand.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })

	r.phase.Store("ramp")
	runCtx, stopSlots := context.WithCancel(ctx)
	defer stopSlots()
	var wg sync.WaitGroup
	gap := time.Second / time.Duration(cfg.RampRate)
	rampStart := time.Now()
	for n, s := range slots {
		if d := time.Until(rampStart.Add(time.Duration(n) * gap)); d > 0 {
			select {
			case <-time.After(d):
			case <-runCtx.Done():
			}
		}
		if runCtx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.slotLoop(runCtx, s.k, s.i, s.churn)
		}()
	}
	// The ramp ends when (nearly) everyone is connected, or after a bound.
	total := int64(len(slots))
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && runCtx.Err() == nil; {
		if r.totalActive() >= total-total/200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	rampSecs := time.Since(rampStart).Seconds()
	r.logf("ramp done in %.1fs: %d of %d connected", rampSecs, r.totalActive(), total)
	r.phase.Store("steady")
	steadyStart := time.Since(r.start).Seconds()

	// Publisher and churner, for Duration.
	holdCtx, stopHold := context.WithTimeout(runCtx, cfg.Duration)
	defer stopHold()
	bg.Add(2)
	go func() { defer bg.Done(); r.publisher(holdCtx) }()
	go func() {
		defer bg.Done()
		t := time.NewTicker(cfg.ChurnEvery)
		defer t.Stop()
		for {
			select {
			case <-holdCtx.Done():
				return
			case <-t.C:
				n := int(float64(len(slots))*cfg.ChurnFraction + 0.5)
				for range n {
					select {
					case slots[rand.IntN(len(slots))].churn <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	<-holdCtx.Done()
	steadyEnd := time.Since(r.start).Seconds()
	// Let the publisher's last requests finish before clients stop.
	for r.publishing.Load() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	r.phase.Store("drain")
	r.logf("stopping clients")
	stopSlots()
	wg.Wait()
	r.tr.CloseIdleConnections()
	r.logf("all clients closed")

	// Drain: the server should let go of every connection's goroutines.
	var final Sample
	for deadline := time.Now().Add(cfg.DrainTimeout); ; {
		s, err := r.scrape()
		if err == nil {
			final = s
			if s.Goroutines <= base.Goroutines+cfg.MaxGoroutineResidue && s.WSConns == 0 && s.EIO == 0 && s.SigPeers == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	r.addSample(final)
	stopSampler()
	bg.Wait()

	rep := r.report(counts, base, final, rampSecs, steadyStart, steadyEnd)
	return rep, nil
}

func (r *runner) totalActive() (n int64) {
	for k := range nKinds {
		n += r.active[k].Load()
	}
	return n
}

func (r *runner) totalDrops() (n int64) {
	for k := range nKinds {
		n += r.drops[k].Load()
	}
	return n
}

// slotLoop keeps one client slot connected until ctx ends, reconnecting it
// when churned or dropped.
func (r *runner) slotLoop(ctx context.Context, k kind, i int, churn <-chan struct{}) {
	every := map[kind]time.Duration{kEcho: r.cfg.EchoEvery, kSignal: r.cfg.RelayEvery}[k]
	for gen := 0; ctx.Err() == nil; gen++ {
		name := fmt.Sprintf("%s/%d/%d", kindNames[k], i, gen)
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		s, err := r.open(dctx, k, i, name)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.failed[k].Add(1)
			r.note("dial %s: %v", name, err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			continue
		}
		r.opened[k].Add(1)
		if n := r.active[k].Add(1); n > 0 {
			if t := r.totalActive(); t > r.peak.Load() {
				r.peak.Store(t)
			}
		}
		var tick <-chan time.Time
		if every > 0 {
			// Jittered start so that sends spread over the interval.
			first := time.NewTimer(time.Duration(rand.Int64N(int64(every))))
			tick = first.C
		}
		reason := ""
		for reason == "" {
			select {
			case <-ctx.Done():
				reason = "end"
			case <-churn:
				reason = "churn"
			case <-s.done():
				reason = "drop"
			case <-tick:
				s.tick()
				tick = time.After(every)
			}
		}
		r.active[k].Add(-1)
		if reason == "drop" {
			r.drops[k].Add(1)
			r.note("%s dropped by the server: %v", name, s.err())
			s.close(false)
			continue
		}
		if reason == "churn" {
			r.churned.Add(1)
		}
		s.stop()
		select {
		case <-time.After(r.cfg.Grace):
		case <-s.done():
			r.drops[k].Add(1)
			r.note("%s dropped by the server while stopping: %v", name, s.err())
			s.close(false)
			continue
		}
		s.check()
		// Churned clients alternate between a close handshake and an abrupt
		// close; at the end everyone says goodbye, so that the drain does not
		// wait for abandoned polling sessions' ping timeouts.
		s.close(reason == "end" || gen%2 == 0)
		if reason == "end" {
			return
		}
	}
}

func (r *runner) open(ctx context.Context, k kind, i int, name string) (session, error) {
	switch k {
	case kEcho:
		return r.openEcho(ctx, name)
	case kSioWS, kSioPoll:
		// Rooms mix both transports: slot i of either kind is in room i/size.
		return r.openSio(ctx, name, "soak-"+strconv.Itoa(i/r.cfg.SioRoomSize), k == kSioPoll)
	default:
		return r.openSignal(ctx, name, "soak-sig-"+strconv.Itoa(i/r.cfg.SignalRoomSize))
	}
}

// publisher broadcasts to every Socket.IO room each PublishEvery: through
// POST /api/publish, and every other round also from a member socket's
// publish event (which the sender does not get back).
func (r *runner) publisher(ctx context.Context) {
	nRooms := (max(r.cfg.SioWS, r.cfg.SioPoll) + r.cfg.SioRoomSize - 1) / r.cfg.SioRoomSize
	if r.cfg.SioWS+r.cfg.SioPoll == 0 {
		return
	}
	t := time.NewTicker(r.cfg.PublishEvery)
	defer t.Stop()
	sem := make(chan struct{}, 32)
	for round := 0; ; round++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i := range nRooms {
			room := "soak-" + strconv.Itoa(i)
			for _, viaSocket := range []bool{false, round%2 == 1} {
				if viaSocket && round%2 == 0 {
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				r.publishing.Add(1)
				go func() {
					defer func() { <-sem; r.publishing.Add(-1) }()
					if viaSocket {
						r.publishSocket(room)
					} else {
						r.publishAPI(room)
					}
				}()
			}
		}
	}
}

func (r *runner) publishAPI(room string) {
	seq := r.ledAPI.begin(room, "")
	body := fmt.Sprintf(`{"room":%q,"event":"soak","data":{"r":%q,"s":%d,"k":"a","t":%d}}`, room, room, seq, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+r.cfg.Addr+"/api/publish", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	r.sioAPI.Sent.Add(1)
	resp, err := r.httpc.Do(req)
	ok := err == nil && resp.StatusCode == 200
	if resp != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.ledAPI.end(room, seq, ok)
	if !ok {
		r.sioAPI.Failed.Add(1)
		if err == nil {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		r.note("publish to %s: %v", room, err)
	}
}

func (r *runner) publishSocket(room string) {
	s := r.rooms.pick(room)
	if s == nil {
		return
	}
	seq := r.ledSock.begin(room, s.name)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r.sioSock.Sent.Add(1)
	ack, err := s.emitAck(ctx, "publish", map[string]any{"room": room, "event": "soak",
		"data": broadcast{Room: room, Seq: seq, Kind: "s", Sent: time.Now().UnixNano()}})
	ok := err == nil && strings.Contains(string(ack), `"ok":true`)
	r.ledSock.end(room, seq, ok)
	if !ok {
		r.sioSock.Failed.Add(1)
		if !s.closing.Load() {
			r.note("socket publish to %s by %s: %v %s", room, s.name, err, ack)
		}
	}
}

// scrape reads the server's /metrics.
func (r *runner) scrape() (Sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+r.cfg.Addr+"/metrics", nil)
	resp, err := r.httpc.Do(req)
	if err != nil {
		return Sample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return Sample{}, fmt.Errorf("/metrics: %s", resp.Status)
	}
	s := Sample{T: time.Since(r.start).Seconds(), Phase: r.phase.Load().(string), Clients: r.totalActive()}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			s.Goroutines = int(v)
		case "process_resident_memory_bytes":
			s.RSSMiB = v / (1 << 20)
		case "go_memstats_heap_inuse_bytes":
			s.HeapMiB = v / (1 << 20)
		case "switchboard_websocket_connections":
			s.WSConns = int(v)
		case "switchboard_engineio_sessions":
			s.EIO = int(v)
		case "switchboard_signaling_peers":
			s.SigPeers = int(v)
		}
	}
	return s, sc.Err()
}

func (r *runner) addSample(s Sample) {
	r.samplesM.Lock()
	defer r.samplesM.Unlock()
	r.samples = append(r.samples, s)
}

func (r *runner) report(counts [nKinds]int, base, final Sample, rampSecs, steadyStart, steadyEnd float64) *Report {
	cfg := r.cfg
	rep := &Report{
		Config: cfg, Started: r.start, RampSeconds: rampSecs, Seconds: time.Since(r.start).Seconds(),
		Connections: map[string]ConnReport{}, PeakClients: r.peak.Load(), Churned: r.churned.Load(),
		Messages: map[string]counterReport{
			"echo": r.echo.report(), "sio_api_publish": r.sioAPI.report(), "sio_socket_publish": r.sioSock.report(),
			"signal_relay": r.relay.report(), "signal_peer_joined": r.presence.report(),
		},
		UnknownPeer: r.unknownPeer.Load(), SigErrors: r.sigErrors.Load(),
	}
	rep.Config.APIKey = ""
	var fails []string
	var drops, dialFails int64
	for k := range nKinds {
		c := ConnReport{Target: counts[k], Opened: r.opened[k].Load(), Failed: r.failed[k].Load(), Drops: r.drops[k].Load()}
		rep.Connections[kindNames[k]] = c
		drops += c.Drops
		dialFails += c.Failed
	}
	for name, m := range rep.Messages {
		if m.Lost > 0 {
			fails = append(fails, fmt.Sprintf("%s: %d of %d deliveries lost", name, m.Lost, m.Expected))
		}
		if m.Duplicates > 0 {
			fails = append(fails, fmt.Sprintf("%s: %d duplicates", name, m.Duplicates))
		}
		if m.Unexpected > 0 {
			fails = append(fails, fmt.Sprintf("%s: %d unexpected messages", name, m.Unexpected))
		}
		if name != "sio_socket_publish" && m.Failed > 0 { // a socket publish fails if its sender is churned meanwhile
			fails = append(fails, fmt.Sprintf("%s: %d sends failed", name, m.Failed))
		}
	}
	if at := r.stalledAt.Load(); at > 0 {
		fails = append(fails, fmt.Sprintf("the server stopped delivering anything at %ds (deadlock?)", at-1))
	}
	if rep.SigErrors > 0 {
		fails = append(fails, fmt.Sprintf("signaling: %d unexpected error frames", rep.SigErrors))
	}
	if drops+dialFails > int64(cfg.AllowDrops) {
		fails = append(fails, fmt.Sprintf("%d server drops and %d dial failures (allowed %d)", drops, dialFails, cfg.AllowDrops))
	}
	var total int64
	for _, c := range counts {
		total += int64(c)
	}
	if rep.PeakClients < total-total/100 {
		fails = append(fails, fmt.Sprintf("peak of %d connected clients, wanted %d", rep.PeakClients, total))
	}

	// Steady-state growth: the second half's peak over the first half's,
	// skipping the warm-up after the ramp.
	r.samplesM.Lock()
	rep.Samples = append([]Sample(nil), r.samples...)
	r.samplesM.Unlock()
	from := steadyStart + min(cfg.Warmup.Seconds(), (steadyEnd-steadyStart)/3)
	mid := (from + steadyEnd) / 2
	b := &rep.Bounds
	b.BaselineGoroutines, b.BaselineRSSMiB = base.Goroutines, base.RSSMiB
	b.FinalGoroutines, b.FinalRSSMiB = final.Goroutines, final.RSSMiB
	var n1, n2 int
	for _, s := range rep.Samples {
		if s.Phase != "steady" || s.T < from || s.T > steadyEnd {
			continue
		}
		if s.T < mid {
			n1++
			b.FirstHalfRSSMiB = max(b.FirstHalfRSSMiB, s.RSSMiB)
			b.FirstHalfGoroutines = max(b.FirstHalfGoroutines, s.Goroutines)
		} else {
			n2++
			b.SecondHalfRSSMiB = max(b.SecondHalfRSSMiB, s.RSSMiB)
			b.SecondHalfGoroutine = max(b.SecondHalfGoroutine, s.Goroutines)
		}
	}
	if n1 > 0 && n2 > 0 {
		b.RSSGrowth = b.SecondHalfRSSMiB/b.FirstHalfRSSMiB - 1
		if b.RSSGrowth > cfg.MaxRSSGrowth {
			fails = append(fails, fmt.Sprintf("steady-state RSS grew %.0f%% (%.1f -> %.1f MiB), bound %.0f%%", 100*b.RSSGrowth, b.FirstHalfRSSMiB, b.SecondHalfRSSMiB, 100*cfg.MaxRSSGrowth))
		}
		if lim := float64(b.FirstHalfGoroutines)*(1+cfg.MaxGoroutineGrowth) + 50; float64(b.SecondHalfGoroutine) > lim {
			fails = append(fails, fmt.Sprintf("steady-state goroutines grew %d -> %d, bound %.0f", b.FirstHalfGoroutines, b.SecondHalfGoroutine, lim))
		}
		if total > 0 {
			b.PerConnKiB = (b.FirstHalfRSSMiB - base.RSSMiB) * 1024 / float64(total)
		}
	} else {
		r.note("too few steady-state samples for the growth bounds (%d, %d); lengthen -duration or shorten -sample-every", n1, n2)
	}
	if final.Goroutines > base.Goroutines+cfg.MaxGoroutineResidue {
		fails = append(fails, fmt.Sprintf("%d goroutines after every client left, baseline %d (+%d allowed)", final.Goroutines, base.Goroutines, cfg.MaxGoroutineResidue))
	}
	if final.WSConns != 0 || final.EIO != 0 || final.SigPeers != 0 {
		fails = append(fails, fmt.Sprintf("after every client left the server still counts %d WebSocket connections, %d Engine.IO sessions, %d signaling peers", final.WSConns, final.EIO, final.SigPeers))
	}
	r.notesMu.Lock()
	rep.Notes = r.notes
	if r.notesN > len(r.notes) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("... and %d more", r.notesN-len(r.notes)))
	}
	r.notesMu.Unlock()
	rep.Violations = fails
	if rep.Violations == nil {
		rep.Violations = []string{}
	}
	rep.Pass = len(fails) == 0
	return rep
}

// Command soak holds many connections against a running switchboard for a
// while — WebSocket echo, Socket.IO over polling and over WebSocket, and
// WebRTC signaling — with churn and periodic room broadcasts, and checks that
// every connected client gets every message exactly once while the server's
// memory and goroutines stay bounded. It prints a JSON report and exits 1 when
// a check fails (2 for a setup error).
//
//	go build -o /tmp/soak ./test/soak
//	switchboard --listen 127.0.0.1:8080 --echo --api-key k &
//	/tmp/soak -addr 127.0.0.1:8080 -api-key k -duration 10m -out soak.json
//
// Every loop is bounded by -duration; the program stops by itself.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Config is what one soak run does. The flags fill it in.
type Config struct {
	Addr   string `json:"addr"`    // the server's HTTP listener, host:port
	APIKey string `json:"api_key"` // bearer key of POST /api/publish

	Echo    int `json:"echo"`     // WebSocket clients on /echo
	SioWS   int `json:"sio_ws"`   // Socket.IO clients over WebSocket
	SioPoll int `json:"sio_poll"` // Socket.IO clients over HTTP long-polling
	Signal  int `json:"signal"`   // signaling clients on /signal

	Duration      time.Duration `json:"duration"`       // how long the full population is held
	RampRate      int           `json:"ramp_rate"`      // new connections per second while ramping up
	ChurnEvery    time.Duration `json:"churn_every"`    // churn interval
	ChurnFraction float64       `json:"churn_fraction"` // fraction of clients reconnected per interval
	PublishEvery  time.Duration `json:"publish_every"`  // per-room broadcast interval
	EchoEvery     time.Duration `json:"echo_every"`     // per-client echo interval
	RelayEvery    time.Duration `json:"relay_every"`    // per-peer signaling relay interval
	SampleEvery   time.Duration `json:"sample_every"`   // /metrics sampling interval
	Grace         time.Duration `json:"grace"`          // how long a stopping client keeps reading before it is checked
	Warmup        time.Duration `json:"warmup"`         // excluded from the growth bounds after the ramp
	DrainTimeout  time.Duration `json:"drain_timeout"`  // how long the server gets to let go of everything after the clients left

	SioRoomSize    int `json:"sio_room_size"`    // Socket.IO clients per room
	SignalRoomSize int `json:"signal_room_size"` // signaling peers per room (server max 16)

	Sources []string `json:"sources"` // local addresses client sockets are spread over

	MaxRSSGrowth        float64 `json:"max_rss_growth"`        // allowed steady-state RSS growth, fraction
	MaxGoroutineGrowth  float64 `json:"max_goroutine_growth"`  // allowed steady-state goroutine growth, fraction
	MaxGoroutineResidue int     `json:"max_goroutine_residue"` // goroutines allowed above the idle baseline after all clients left
	AllowDrops          int     `json:"allow_drops"`           // server-side disconnects tolerated (0: any is a failure)

	Quiet bool `json:"-"` // no progress lines on stderr
}

func defaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8080", APIKey: "k",
		Echo: 3500, SioWS: 2500, SioPoll: 1000, Signal: 3000,
		Duration: 10 * time.Minute, RampRate: 500,
		ChurnEvery: 10 * time.Second, ChurnFraction: 0.01,
		PublishEvery: 2 * time.Second, EchoEvery: 10 * time.Second, RelayEvery: 10 * time.Second,
		SampleEvery: 10 * time.Second, Grace: 15 * time.Second, Warmup: 60 * time.Second, DrainTimeout: 60 * time.Second,
		SioRoomSize: 50, SignalRoomSize: 10,
		Sources:      []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"},
		MaxRSSGrowth: 0.25, MaxGoroutineGrowth: 0.05, MaxGoroutineResidue: 100,
	}
}

func main() {
	cfg := defaultConfig()
	var sources, outPath string
	total := flag.Int("n", 0, "total connections, split 35% echo, 25% Socket.IO WebSocket, 10% Socket.IO polling, 30% signaling (overrides the per-kind counts)")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "switchboard HTTP listener (host:port)")
	flag.StringVar(&cfg.APIKey, "api-key", cfg.APIKey, "bearer key of POST /api/publish (the server's --api-key)")
	flag.IntVar(&cfg.Echo, "echo", cfg.Echo, "WebSocket /echo clients")
	flag.IntVar(&cfg.SioWS, "sio-ws", cfg.SioWS, "Socket.IO clients over WebSocket")
	flag.IntVar(&cfg.SioPoll, "sio-poll", cfg.SioPoll, "Socket.IO clients over long-polling")
	flag.IntVar(&cfg.Signal, "signal", cfg.Signal, "signaling clients")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the population is held after the ramp")
	flag.IntVar(&cfg.RampRate, "ramp-rate", cfg.RampRate, "connections opened per second while ramping up")
	flag.DurationVar(&cfg.ChurnEvery, "churn-every", cfg.ChurnEvery, "churn interval")
	flag.Float64Var(&cfg.ChurnFraction, "churn", cfg.ChurnFraction, "fraction of clients that reconnect every churn interval")
	flag.DurationVar(&cfg.PublishEvery, "publish-every", cfg.PublishEvery, "broadcast interval per Socket.IO room")
	flag.DurationVar(&cfg.EchoEvery, "echo-every", cfg.EchoEvery, "echo interval per client")
	flag.DurationVar(&cfg.RelayEvery, "relay-every", cfg.RelayEvery, "signaling relay interval per peer")
	flag.DurationVar(&cfg.SampleEvery, "sample-every", cfg.SampleEvery, "/metrics sampling interval")
	flag.DurationVar(&cfg.Grace, "grace", cfg.Grace, "how long a stopping client keeps reading before its deliveries are checked")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "time after the ramp excluded from the growth bounds")
	flag.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "how long the server gets to close everything after the clients left")
	flag.IntVar(&cfg.SioRoomSize, "sio-room-size", cfg.SioRoomSize, "Socket.IO clients per room")
	flag.IntVar(&cfg.SignalRoomSize, "signal-room-size", cfg.SignalRoomSize, "signaling peers per room (the server allows 16)")
	flag.StringVar(&sources, "src", strings.Join(cfg.Sources, ","), "comma-separated local addresses to spread client sockets over")
	flag.Float64Var(&cfg.MaxRSSGrowth, "max-rss-growth", cfg.MaxRSSGrowth, "allowed steady-state RSS growth (second half's peak over the first half's)")
	flag.Float64Var(&cfg.MaxGoroutineGrowth, "max-goroutine-growth", cfg.MaxGoroutineGrowth, "allowed steady-state goroutine growth (fraction, plus 50)")
	flag.IntVar(&cfg.MaxGoroutineResidue, "max-goroutine-residue", cfg.MaxGoroutineResidue, "goroutines allowed above the pre-run baseline once every client has left")
	flag.IntVar(&cfg.AllowDrops, "allow-drops", cfg.AllowDrops, "server-side disconnects tolerated")
	flag.StringVar(&outPath, "out", "", "also write the JSON report to this file")
	flag.BoolVar(&cfg.Quiet, "q", false, "no progress lines on stderr")
	flag.Parse()
	if *total > 0 {
		cfg.Echo = *total * 35 / 100
		cfg.SioWS = *total * 25 / 100
		cfg.SioPoll = *total * 10 / 100
		cfg.Signal = *total - cfg.Echo - cfg.SioWS - cfg.SioPoll
	}
	cfg.Sources = nil
	for _, s := range strings.Split(sources, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Sources = append(cfg.Sources, s)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(b))
	if outPath != "" {
		if err := os.WriteFile(outPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(2)
		}
	}
	if !rep.Pass {
		fmt.Fprintln(os.Stderr, "soak: FAIL:", strings.Join(rep.Violations, "; "))
		os.Exit(1)
	}
}

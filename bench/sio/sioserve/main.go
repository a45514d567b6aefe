// Command sioserve runs the switchboard binary's Socket.IO service (the
// default namespace of CONTRACT.md: join, leave, publish, POST /api/publish)
// alone, wired exactly as cmd/switchboard wires it, for benchmarks and
// profiles:
//
//	sioserve -listen 127.0.0.1:9311 [-api-key KEY | API_KEY=KEY] [-recovery=false]
//
// The binary is the product; this harness leaves signaling, PeerJS and TURN
// out and adds the knobs a benchmark needs. -recovery=false serves with
// connection-state recovery off, as the Node reference (socket.io's default
// options) does. -cpuprofile FILE profiles the whole run (written at SIGTERM
// or SIGINT). -memprofile FILE is written on SIGUSR1, after a GC, while the
// load generator's connections are still open, with a one-line summary of
// runtime.MemStats, goroutines and RSS on stderr; -memprofilerate 1 records
// every allocation, for exact object counts.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/sioservice"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/websocket"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9311", "address to serve /socket.io/ and /api/publish on")
	apiKey := flag.String("api-key", os.Getenv("API_KEY"), "bearer key for POST /api/publish (default $API_KEY)")
	recovery := flag.Bool("recovery", true, "connection-state recovery (the binary: on; socket.io's default: off)")
	compression := flag.Bool("compression", true, "offer permessage-deflate on the engine (the binary: on)")
	loops := flag.Int("loops", 0, "event loops (0: GOMAXPROCS, as the binary)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile to this file on SIGUSR1")
	memrate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (0: Go's default; 1: every allocation)")
	flag.Parse()
	if *memrate > 0 {
		runtime.MemProfileRate = *memrate
	}
	if err := run(*listen, *apiKey, *recovery, *compression, *loops, *cpuprofile, *memprofile); err != nil {
		fmt.Fprintln(os.Stderr, "sioserve:", err)
		os.Exit(1)
	}
}

func run(listen, apiKey string, recovery, compression bool, loops int, cpuprofile, memprofile string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The wiring of cmd/switchboard/app.go (newApp, routes), minus the
	// endpoints this benchmark does not touch.
	ws, err := websocket.NewServer(websocket.Config{
		Compression:    compression,
		MaxMessageSize: 1 << 20,
		CheckOrigin:    func(*http.Request) bool { return true },
		Loops:          loops,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	cfg := socketio.Config{Logger: log}
	if recovery {
		cfg.Recovery = &socketio.RecoveryConfig{}
	}
	sio, err := socketio.New(cfg)
	if err != nil {
		return err
	}
	sioservice.Install(sio.Of("/"))
	eio, err := engineio.New(engineio.Config{
		Handler:    sio.EngineHandler(),
		MaxPayload: 1_000_000,
		CORS:       engineio.CORS{Origins: []string{"*"}},
		Logger:     log,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", eio)
	mux.Handle("/api/publish", sioservice.PublishHandler(sio.Of("/"), apiKey, log))

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr(), "recovery", recovery)
	served := make(chan error, 1)
	go func() { served <- ws.Serve(ln, mux) }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1)
	for {
		select {
		case err := <-served:
			return err
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				if err := writeHeap(memprofile); err != nil {
					fmt.Fprintln(os.Stderr, "sioserve: heap profile:", err)
				}
				continue
			}
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sio.Shutdown(ctx)
	_ = eio.Shutdown(ctx)
	_ = ws.Shutdown(ctx)
	<-served
	return nil
}

// writeHeap runs a GC, writes the heap profile (when a file is named) and
// prints where the process's memory is.
func writeHeap(path string) error {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Fprintf(os.Stderr, "memstats: heap_inuse=%d heap_alloc=%d heap_objects=%d stack_inuse=%d sys=%d gc_sys=%d goroutines=%d rss_kib=%d\n",
		m.HeapInuse, m.HeapAlloc, m.HeapObjects, m.StackInuse, m.Sys, m.GCSys, runtime.NumGoroutine(), rssKiB())
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

func rssKiB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

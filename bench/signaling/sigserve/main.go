// Command sigserve runs Switchboard's /signal and /peerjs endpoints alone on
// the event-loop WebSocket engine, for benchmarks. The switchboard binary is
// the product; this harness exists for the knobs a benchmark needs (the
// PeerJS concurrent limit, a CPU profile) and to leave everything else out.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/peerjs"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/websocket"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve /signal and /peerjs on")
	peerjsLimit := flag.Int("peerjs-limit", 20000, "PeerJS concurrent client limit (the stock server's default is 5000)")
	roomSize := flag.Int("room-size", 16, "signaling room size limit")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if err := run(*listen, *peerjsLimit, *roomSize, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "sigserve:", err)
		os.Exit(1)
	}
}

func run(listen string, peerjsLimit, roomSize int, cpuprofile string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ws, err := websocket.NewServer(websocket.Config{
		CheckOrigin:  func(*http.Request) bool { return true },
		PingInterval: 15 * time.Second,
		Logger:       log,
	})
	if err != nil {
		return err
	}
	sig, err := signaling.New(signaling.Config{WebSocket: ws, MaxRoomSize: roomSize, STUNURLs: []string{}, Logger: log})
	if err != nil {
		return err
	}
	pjs, err := peerjs.New(peerjs.Config{WebSocket: ws, ConcurrentLimit: peerjsLimit, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/signal", sig)
	mux.Handle("/peerjs", pjs)
	mux.Handle("/peerjs/", pjs)

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
	fmt.Println("listening", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- ws.Serve(ln, mux) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-served:
		return err
	case <-stop:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = sig.Shutdown(ctx)
	_ = pjs.Shutdown(ctx)
	_ = ws.Shutdown(ctx)
	<-served
	return nil
}

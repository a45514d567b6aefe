// Command sbnode runs one Switchboard Socket.IO node of a Redis cluster for
// the scale-out benchmark (bench/cluster/run.sh): the binary's default
// namespace service (join, publish, POST /api/publish) wired as
// cmd/switchboard wires it, with the Redis adapter, plus "sub" (room, ack):
// a join without the cluster-wide member count.
//
//	sbnode -listen 127.0.0.1:9321 -redis 127.0.0.1:6390 [-recovery=false]
//
// It prints "ready" on stderr once subscribed, and shuts down cleanly on
// SIGTERM or SIGINT.
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
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	redisadapter "github.com/switchboard/switchboard/adapter/redis"
	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/sioservice"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/websocket"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9321", "address to serve /socket.io/ and /api/publish on")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	apiKey := flag.String("api-key", os.Getenv("API_KEY"), "bearer key for POST /api/publish")
	recovery := flag.Bool("recovery", true, "connection-state recovery (the binary: on)")
	flag.Parse()
	if err := run(*listen, *redisAddr, *apiKey, *recovery); err != nil {
		fmt.Fprintln(os.Stderr, "sbnode:", err)
		os.Exit(1)
	}
}

func run(listen, redisAddr, apiKey string, recovery bool) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ws, err := websocket.NewServer(websocket.Config{
		Compression: true, MaxMessageSize: 1 << 20,
		CheckOrigin: func(*http.Request) bool { return true }, Logger: log,
	})
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	cl, err := redisadapter.New(rdb, redisadapter.Options{Logger: log})
	if err != nil {
		return err
	}
	cfg := socketio.Config{Logger: log, Adapter: cl.Adapter}
	if recovery {
		cfg.Recovery = &socketio.RecoveryConfig{}
	}
	sio, err := socketio.New(cfg)
	if err != nil {
		return err
	}
	sioservice.Install(sio.Of("/"))
	// "sub": join without the cluster-wide member count of "join".
	sio.Of("/").On("sub", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		room, _ := args.String(0)
		s.Join(room)
		return map[string]bool{"ok": true}, nil
	})
	eio, err := engineio.New(engineio.Config{Handler: sio.EngineHandler(), MaxPayload: 1_000_000,
		CORS: engineio.CORS{Origins: []string{"*"}}, WebSocket: ws, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", eio)
	mux.Handle("/api/publish", sioservice.PublishHandler(sio.Of("/"), apiKey, log))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- ws.Serve(ln, mux) }()
	for deadline := time.Now().Add(10 * time.Second); !cl.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("not subscribed to Redis at %s within 10s", redisAddr)
		}
	}
	fmt.Fprintln(os.Stderr, "ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case err := <-done:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sio.Shutdown(ctx)
	eio.Shutdown(ctx)
	ws.Shutdown(ctx)
	return cl.Shutdown(ctx)
}

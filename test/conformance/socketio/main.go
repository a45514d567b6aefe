// Command socketio serves the configurations the official Engine.IO and
// Socket.IO test suites expect, selected by --profile:
//
//	go run ./test/conformance/socketio --profile protocol
//
// protocol: on 127.0.0.1:3000, the server of the engine.io-protocol and
// socket.io-protocol test suites (test-suite/ in socketio/engine.io-protocol
// and socketio/socket.io-protocol): pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1,000,000, CORS "*". "/engine.io/" echoes every Engine.IO
// message with its type (text or binary); "/socket.io/" is added by
// socketio_*.go.
//
// Each profile is a listen address and a list of mounts; files of this
// package add theirs from init with addMount. The process serves until
// SIGINT or SIGTERM, then shuts down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/websocket"
)

// env is what a mount gets: the mux to register on and the shared
// WebSocket server, which runs the listener.
type env struct {
	mux *http.ServeMux
	ws  *websocket.Server
	log *slog.Logger
}

// mount registers handlers for a profile and returns their shutdown.
type mount func(e *env) (shutdown func(context.Context) error, err error)

type profile struct {
	addr   string
	mounts []mount
}

// profiles is filled before main runs: here and by addMount from init.
var profiles = map[string]*profile{
	"protocol": {addr: "127.0.0.1:3000", mounts: []mount{mountEngineIOEcho}},
	"client":   {addr: "127.0.0.1:3210"},
}

// addMount adds m to the named profile; call it from init.
func addMount(name string, m mount) {
	p := profiles[name]
	if p == nil {
		panic("conformance: unknown profile " + name)
	}
	p.mounts = append(p.mounts, m)
}

// Settings of the "protocol" profile, from the test suites' constants.
const (
	protocolPingInterval = 300 * time.Millisecond
	protocolPingTimeout  = 200 * time.Millisecond
	protocolMaxPayload   = 1_000_000
)

// mountEngineIOEcho serves "/engine.io/": every message goes back to its
// sender with its type, as the engine.io-protocol README's reference server
// does (socket.on("data", (...args) => socket.send(...args))).
func mountEngineIOEcho(e *env) (func(context.Context) error, error) {
	srv, err := engineio.New(engineio.Config{
		Handler: engineio.HandlerFuncs{
			Message: func(s *engineio.Socket, data []byte, binary bool) {
				_ = s.Send(data, binary)
			},
		},
		PingInterval: protocolPingInterval,
		PingTimeout:  protocolPingTimeout,
		MaxPayload:   protocolMaxPayload,
		CORS:         engineio.CORS{Origins: []string{"*"}},
		WebSocket:    e.ws,
		Logger:       e.log,
	})
	if err != nil {
		return nil, err
	}
	e.mux.Handle("/engine.io/", srv)
	return srv.Shutdown, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "socketio conformance server:", err)
		os.Exit(1)
	}
}

func run() error {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	name := flag.String("profile", "protocol", fmt.Sprintf("configuration to serve: %v", names))
	addr := flag.String("addr", "", "listen address (default: the profile's)")
	level := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	p := profiles[*name]
	if p == nil || !slices.Contains(names, *name) {
		return fmt.Errorf("--profile %q: want one of %v", *name, names)
	}
	if *addr == "" {
		*addr = p.addr
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	ws, err := websocket.NewServer(websocket.Config{
		MaxMessageSize: protocolMaxPayload,
		CheckOrigin:    func(*http.Request) bool { return true }, // CORS "*"
		Logger:         log,
	})
	if err != nil {
		return err
	}
	e := &env{mux: http.NewServeMux(), ws: ws, log: log}
	var shutdowns []func(context.Context) error
	for _, m := range p.mounts {
		sd, err := m(e)
		if err != nil {
			return err
		}
		shutdowns = append(shutdowns, sd)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("serving", "profile", *name, "addr", ln.Addr().String())
	fmt.Printf("listening on %s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- ws.Serve(ln, e.mux) }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case err := <-served:
		return err
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, sd := range shutdowns {
		errs = append(errs, sd(ctx))
	}
	errs = append(errs, ws.Shutdown(ctx))
	if err := <-served; !errors.Is(err, websocket.ErrServerClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Command switchboard serves Switchboard's real-time endpoints on one HTTP
// listener — the demo, Socket.IO (/socket.io/), WebRTC signaling (/signal),
// PeerJS (/peerjs), the publish API, health — plus STUN/TURN over UDP, TCP
// and TLS. `switchboard --help` lists every setting. SIGTERM or SIGINT
// shuts down gracefully (a second one exits at once); SIGHUP reloads the
// TLS certificate.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/websocket"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	var help *helpRequested
	if errors.As(err, &help) {
		fmt.Print(help.usage)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

func run(cfg *config) error {
	log := cfg.logger()
	slog.SetDefault(log)
	a, err := newApp(cfg, log)
	if err != nil {
		return err
	}
	stopJWKSReload := a.reloadJWKSOnSIGHUP()
	defer stopJWKSReload()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	// SIGHUP reloads the TLS certificate; caught even without TLS, so that
	// it never kills the server. Still caught (and ignored) while shutting down.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := a.start(); err != nil {
		_ = a.shutdown(context.Background())
		return err
	}
	var runErr error
wait:
	for {
		select {
		case <-hup:
			a.reloadTLS()
		case runErr = <-a.errs:
			log.Error("serving failed; shutting down", "err", runErr)
			break wait
		case s := <-sig:
			log.Info("shutting down", "signal", s.String(), "timeout", cfg.shutdownTimeout)
			break wait
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	go func() {
		select {
		case <-sig:
			log.Warn("second signal: exiting now")
			os.Exit(1)
		case <-ctx.Done():
		}
	}()
	if err := a.shutdown(ctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return runErr
}

// echoHandler echoes every message with its opcode (the --echo endpoint).
type echoHandler struct{}

func (echoHandler) OnOpen(*websocket.Conn) {}
func (echoHandler) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	_ = c.WriteMessage(typ, data)
}
func (echoHandler) OnClose(*websocket.Conn, error) {}

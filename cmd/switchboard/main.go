// Command switchboard serves Switchboard's real-time endpoints on one HTTP
// listener — the demo, Socket.IO (/socket.io/), WebRTC signaling (/signal),
// PeerJS (/peerjs), the publish API, health — plus STUN/TURN over UDP, TCP
// and TLS. `switchboard --help` lists every setting.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/websocket"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
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
	if err := a.start(); err != nil {
		_ = a.shutdown(context.Background())
		return err
	}
	var runErr error
	select {
	case runErr = <-a.errs:
		log.Error("serving failed; shutting down", "err", runErr)
	case s := <-sig:
		log.Info("shutting down", "signal", s.String(), "timeout", cfg.shutdownTimeout)
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

// Command switchboard serves Switchboard's real-time endpoints: the demo,
// Socket.IO, WebRTC signaling, a WebSocket echo (with --echo), STUN/TURN,
// health and metrics. See ../../shared contract in docs and `switchboard --help`.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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

	ws, err := websocket.NewServer(websocket.Config{
		Compression:    true,
		MaxMessageSize: cfg.wsMaxMessage,
		Logger:         log,
		CheckOrigin:    func(*http.Request) bool { return true },
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ready\n"))
	})
	if cfg.echo {
		mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			_, _ = ws.Upgrade(w, r, echoHandler{})
		})
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", cfg.listen, err)
	}
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	}
	log.Info("switchboard listening", "addr", ln.Addr().String(), "tls", cfg.tlsCert != "", "echo", cfg.echo)

	serveErr := make(chan error, 1)
	go func() { serveErr <- ws.Serve(ln, mux) }()

	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-serveErr:
		return err
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	go func() {
		<-sig
		log.Warn("second signal: exiting now")
		os.Exit(1)
	}()
	if err := ws.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-serveErr
	log.Info("stopped")
	return nil
}

// echoHandler echoes every message with its opcode (the --echo endpoint).
type echoHandler struct{}

func (echoHandler) OnOpen(*websocket.Conn) {}
func (echoHandler) OnMessage(c *websocket.Conn, typ websocket.MessageType, data []byte) {
	_ = c.WriteMessage(typ, data)
}
func (echoHandler) OnClose(*websocket.Conn, error) {}

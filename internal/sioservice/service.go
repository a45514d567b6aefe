package sioservice

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/websocket"
)

// Config configures the binary's Socket.IO endpoint. The zero value serves
// in memory with socket.io's defaults and refuses every API publish.
type Config struct {
	// APIKey is the bearer key of POST /api/publish (--api-key); empty
	// refuses every request with 401.
	APIKey string
	// Auth, when set, requires a JWT on connect and checks room claims on
	// join and publish (InstallWithAuth; the --jwt-* flags). Default: open.
	Auth *auth.Verifier
	// WebSocket is the program's WebSocket server, whose listener the
	// program runs; nil lets engineio make one for net/http upgrades.
	WebSocket *websocket.Server
	// Adapter creates the namespace adapters (a cluster adapter with
	// --redis-url); nil keeps rooms in memory.
	Adapter func(nsp *socketio.Namespace) socketio.Adapter
	// Engine is passed to engineio.New with Handler, MaxPayload (1e6,
	// maxHttpBufferSize), WebSocket and Logger filled in. Tests shorten the
	// heartbeat through it.
	Engine engineio.Config
	// Limits bound each connection's events and rooms.
	Limits Limits
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service is the Socket.IO endpoint of the switchboard binary: the default
// namespace with Install's events, connection-state recovery on (socket.io's
// defaults), and the publish API.
type Service struct {
	SocketIO *socketio.Server
	EngineIO *engineio.Server
	publish  http.Handler
}

// New builds the service; it starts nothing.
func New(cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sio, err := socketio.New(socketio.Config{
		Recovery: &socketio.RecoveryConfig{},
		Adapter:  cfg.Adapter,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	InstallWith(sio.Of("/"), Options{Auth: cfg.Auth, Limits: cfg.Limits, Logger: cfg.Logger})
	ec := cfg.Engine
	ec.Handler = sio.EngineHandler()
	if ec.MaxPayload == 0 {
		ec.MaxPayload = MaxBody
	}
	ec.WebSocket = cfg.WebSocket
	ec.Logger = cfg.Logger
	eio, err := engineio.New(ec)
	if err != nil {
		return nil, err
	}
	return &Service{SocketIO: sio, EngineIO: eio, publish: PublishHandler(sio.Of("/"), cfg.APIKey, cfg.Logger)}, nil
}

// Register mounts "/socket.io/" and "/api/publish" on mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("/socket.io/", s.EngineIO)
	mux.Handle("/api/publish", s.publish)
}

// Shutdown disconnects every socket ("server shutting down"), waits for
// running handlers, then closes the Engine.IO sessions.
func (s *Service) Shutdown(ctx context.Context) error {
	return errors.Join(s.SocketIO.Shutdown(ctx), s.EngineIO.Shutdown(ctx))
}

package peerjs

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// Config configures a Server. The zero value is usable: every zero field
// means the default documented on it.
type Config struct {
	// Path is where the endpoint is mounted. Default "/peerjs"; clients use
	// it as their `path` option.
	Path string
	// Key is the API key clients must present. Default "peerjs", the
	// client's default.
	Key string
	// AllowDiscovery enables GET {Path}/{key}/peers.
	AllowDiscovery bool
	// ConcurrentLimit is the most connected peers. Default 5000.
	ConcurrentLimit int

	// AliveTimeout drops a client that sent nothing (clients send HEARTBEAT
	// every 5 s) for this long. Default 60 s.
	AliveTimeout time.Duration
	// ExpireTimeout is how long messages to an id that is not connected are
	// kept; then the sender gets EXPIRE. Default 5 s.
	ExpireTimeout time.Duration
	// MaxQueued bounds the messages kept for one absent id, and those one
	// client has waiting for absent ids in all; beyond either the sender
	// gets EXPIRE at once. Default 64.
	MaxQueued int
	// LeaveGrace is how long a disconnected peer's id stays reserved for
	// its token (peer.reconnect()); when it ends without a reconnect, the
	// peers it signaled with get LEAVE. Default 3 s.
	LeaveGrace time.Duration
	// NoLeave turns off LEAVE to a departed peer's partners, like the stock
	// server.
	NoLeave bool

	// MaxMessageSize is the largest frame accepted; larger ones are
	// dropped. Default 64 KiB.
	MaxMessageSize int
	// MessageRate and MessageBurst bound each client's frames with a token
	// bucket; frames beyond it are dropped. Defaults 50/s and 200.
	MessageRate  float64
	MessageBurst int

	// Auth, when set, checks the token of every connecting client (the
	// "token" query parameter); a refused client gets ERROR "Invalid token
	// provided" and is closed. [JWTAuth] verifies JWTs. Default: any token
	// of the client's form is accepted, as by the stock server.
	Auth Authenticator

	// Cluster, when set, shares ids and routes frames with the Servers of
	// other nodes (see Cluster). Default: standalone.
	Cluster Cluster

	// WebSocket is the engine to upgrade with. Default: a server of its own
	// that accepts every origin, as the stock server does (PeerJS pages are
	// often served from another origin; the id's token is the credential).
	WebSocket *websocket.Server
	// CheckOrigin decides which browser origins may connect; used only for
	// the default WebSocket server. Default: every origin.
	CheckOrigin func(r *http.Request) bool
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.CheckOrigin == nil {
		c.CheckOrigin = func(*http.Request) bool { return true }
	}
	switch {
	case c.ConcurrentLimit < 0, c.AliveTimeout < 0, c.ExpireTimeout < 0, c.MaxQueued < 0,
		c.LeaveGrace < 0, c.MaxMessageSize < 0, c.MessageRate < 0, c.MessageBurst < 0:
		return c, errors.New("peerjs: negative limit or timeout in Config")
	case c.Key != "" && !ValidID(c.Key):
		return c, errors.New("peerjs: Config.Key must be letters and digits")
	}
	if c.Path == "" {
		c.Path = "/peerjs"
	}
	c.Path = "/" + strings.Trim(c.Path, "/")
	if c.Key == "" {
		c.Key = "peerjs"
	}
	if c.ConcurrentLimit == 0 {
		c.ConcurrentLimit = 5000
	}
	if c.AliveTimeout == 0 {
		c.AliveTimeout = 60 * time.Second
	}
	if c.ExpireTimeout == 0 {
		c.ExpireTimeout = 5 * time.Second
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = 64
	}
	if c.LeaveGrace == 0 {
		c.LeaveGrace = 3 * time.Second
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 64 << 10
	}
	if c.MessageRate == 0 {
		c.MessageRate = 50
	}
	if c.MessageBurst == 0 {
		c.MessageBurst = 200
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

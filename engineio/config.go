package engineio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// Transport names a transport (protocol v4, section "Transports"); the
// values are those of the "transport" query parameter.
type Transport string

// Transports of Engine.IO v4.
const (
	Polling   Transport = "polling"
	WebSocket Transport = "websocket"
)

// Defaults of Config, those of the reference implementation
// (socketio/engine.io lib/server.ts, BaseServer constructor).
const (
	DefaultPingInterval    = 25 * time.Second
	DefaultPingTimeout     = 20 * time.Second
	DefaultUpgradeTimeout  = 10 * time.Second
	DefaultMaxPayload      = 1_000_000
	DefaultWriteQueueLimit = 4 << 20
)

// Config configures a Server. The zero value of every field means the
// default documented on it; only Handler is required.
type Config struct {
	// Handler receives the sessions' events. Required.
	Handler Handler

	// PingInterval is how long the server waits after a pong (or the
	// handshake) before sending the next ping. Default 25 s; any positive
	// duration down to a millisecond is accepted (the handshake carries it
	// in whole milliseconds).
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong that answers a
	// ping, counted from when the ping was due, before closing the session
	// with ReasonPingTimeout. Default 20 s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds an upgrade from polling to WebSocket: a probe
	// WebSocket that has not completed it in time is closed and the session
	// stays on polling. Default 10 s.
	UpgradeTimeout time.Duration

	// MaxPayload is the largest polling POST body and the largest WebSocket
	// message accepted, in bytes; it is announced in the handshake as
	// "maxPayload". Larger input closes the session (413 for a POST).
	// Default 1,000,000.
	MaxPayload int
	// WriteQueueLimit bounds, in bytes, the packets a session holds for a
	// client that has not collected them (polling, or during an upgrade).
	// Beyond it the session is closed with ErrSlowConsumer. On an
	// established WebSocket the connection's own limit applies instead
	// (websocket.Config.WriteBufferLimit). Default 4 MiB.
	WriteQueueLimit int

	// HTTPCompressionThreshold: polling responses of at least this many
	// bytes are gzip-compressed for clients that accept it. Default 1024
	// (the reference's); negative disables compression.
	HTTPCompressionThreshold int

	// Transports lists the transports clients may use. Default: polling and
	// websocket. Upgrades are offered only to websocket, when it is listed.
	Transports []Transport
	// DisableUpgrades stops the server from offering the upgrade from
	// polling to WebSocket (the handshake's "upgrades" is then empty).
	DisableUpgrades bool

	// CORS configures Cross-Origin Resource Sharing headers on polling
	// responses and the answer to preflight requests. Default: none sent.
	CORS CORS

	// CheckOrigin, when set, is the browser Origin policy of every request,
	// polling or WebSocket, first of a session or not: a request it refuses
	// is answered 403 with {"code":4,"message":"origin not allowed"} (a
	// preflight included), and it replaces the CORS policy as the origin
	// check of the Server's own WebSocket server. Typically true for
	// requests without an Origin header. Default: nil, no check beyond
	// CORS.
	CheckOrigin func(r *http.Request) bool

	// AllowRequest, when set, is called with every handshake request (the
	// first request of a session, polling or WebSocket). A non-nil error
	// refuses it: HTTP 403 with {"code":4,"message":err.Error()}.
	AllowRequest func(r *http.Request) error

	// WebSocket is the WebSocket server that upgrades connections, usually
	// shared with the rest of the program (and serving its listener with
	// Serve, for the event-loop memory profile). Default: the Server makes
	// its own from websocket.Config{MaxMessageSize: MaxPayload, CheckOrigin:
	// the CORS policy}, and shuts it down in Shutdown. A shared server's
	// MaxMessageSize should be at least MaxPayload: it closes larger
	// messages (1009) before the session sees them.
	WebSocket *websocket.Server

	// Logger receives session-level logs. Default slog.Default().
	Logger *slog.Logger
}

// CORS is the Cross-Origin Resource Sharing policy
// (https://fetch.spec.whatwg.org/#http-cors-protocol) of the polling
// transport. The zero value sends no CORS headers.
type CORS struct {
	// Origins allowed to read responses. "*" allows any origin; with
	// Credentials the request's Origin is echoed instead of "*", as
	// browsers require. Empty: CORS off.
	Origins []string
	// Credentials sets Access-Control-Allow-Credentials: true.
	Credentials bool
	// Headers allowed in requests (Access-Control-Allow-Headers). Default:
	// those the preflight asks for.
	Headers []string
	// MaxAge of a preflight answer. Default: not sent.
	MaxAge time.Duration
}

// ErrNoHandler is returned by New when Config.Handler is nil.
var ErrNoHandler = errors.New("engineio: Config.Handler is nil")

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Handler == nil {
		return c, ErrNoHandler
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"PingInterval", &c.PingInterval, DefaultPingInterval},
		{"PingTimeout", &c.PingTimeout, DefaultPingTimeout},
		{"UpgradeTimeout", &c.UpgradeTimeout, DefaultUpgradeTimeout},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < time.Millisecond:
			return c, fmt.Errorf("engineio: Config.%s %v is below 1ms", d.name, *d.v)
		}
	}
	for _, d := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxPayload", &c.MaxPayload, DefaultMaxPayload},
		{"WriteQueueLimit", &c.WriteQueueLimit, DefaultWriteQueueLimit},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0:
			return c, fmt.Errorf("engineio: Config.%s %d is negative", d.name, *d.v)
		}
	}
	if c.HTTPCompressionThreshold == 0 {
		c.HTTPCompressionThreshold = DefaultHTTPCompressionThreshold
	}
	if len(c.Transports) == 0 {
		c.Transports = []Transport{Polling, WebSocket}
	} else {
		c.Transports = slices.Clone(c.Transports)
	}
	for _, t := range c.Transports {
		if t != Polling && t != WebSocket {
			return c, fmt.Errorf("engineio: Config.Transports: unknown transport %q", t)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func (c *Config) allows(t Transport) bool { return slices.Contains(c.Transports, t) }

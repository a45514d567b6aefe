package signaling

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// Config configures a Hub and a Server. The zero value is usable: every zero
// field means the default documented on it.
type Config struct {
	// MaxRoomSize is the most peers a room holds; a join beyond it is
	// answered with room_full. Default 16.
	MaxRoomSize int
	// MaxMessageSize is the largest client frame in bytes; larger ones are
	// answered with too_large. Default 64 KiB (SDP of a few tracks is a few
	// KiB).
	MaxMessageSize int
	// MessageRate and MessageBurst bound each peer's frames with a token
	// bucket: MessageBurst frames at once, refilled at MessageRate per
	// second. Frames beyond it are answered with rate_limited. Defaults 50
	// and 200 (ICE trickling sends bursts of candidates).
	MessageRate  float64
	MessageBurst int
	// MaxErrors is how many error replies a peer may provoke in a burst
	// (refilled at one per second) before it is disconnected: errors keep
	// the socket open unless the abuse continues. Default 10.
	MaxErrors int

	// Auth, when set, must accept every join. Default: no authentication.
	Auth Authenticator

	// STUNURLs are the STUN servers in every joined frame; "{host}" is
	// replaced with the host name the client connected to. Default
	// ["stun:{host}:3478"], Switchboard's own TURN/STUN listener.
	STUNURLs []string
	// TURNSecret, when set, adds a TURN entry with time-limited REST
	// credentials (username "expiry:peerID") to every joined frame.
	TURNSecret string
	// TURNURLs are the TURN servers offered with TURNSecret. Default
	// ["turn:{host}:3478?transport=udp", "turn:{host}:3478?transport=tcp"].
	TURNURLs []string
	// TURNTTL is how long TURN credentials stay valid. Default 24 h.
	TURNTTL time.Duration

	// Rooms holds room membership. Default: a new in-memory Rooms.
	Rooms Rooms

	// WebSocket is the engine Server upgrades with; set it to share one
	// engine (and its event loops) with other endpoints. Default: a server
	// of its own with PingInterval and a message limit of 1 MiB, so that
	// frames over MaxMessageSize are answered with too_large instead of
	// closing the connection.
	WebSocket *websocket.Server
	// CheckOrigin decides which browser origins may connect; used only for
	// the default WebSocket server. Default: same origin only (the
	// websocket package's default).
	CheckOrigin func(r *http.Request) bool
	// PingInterval: a connection silent this long is pinged, and dropped
	// (leaving its room) if it stays silent another interval. Used only for
	// the default WebSocket server. Default 15 s.
	PingInterval time.Duration

	// Logger receives the hub's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (rate limits, token and TURN expiry). Default
	// time.Now.
	Now func() time.Time
}

// withDefaults validates c and returns it with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("signaling: "+format, args...))
		}
	}
	check(c.MaxRoomSize >= 0, "MaxRoomSize %d is negative", c.MaxRoomSize)
	check(c.MaxMessageSize >= 0, "MaxMessageSize %d is negative", c.MaxMessageSize)
	check(c.MessageRate >= 0, "MessageRate %g is negative", c.MessageRate)
	check(c.MessageBurst >= 0, "MessageBurst %d is negative", c.MessageBurst)
	check(c.MaxErrors >= 0, "MaxErrors %d is negative", c.MaxErrors)
	check(c.TURNTTL >= 0, "TURNTTL %v is negative", c.TURNTTL)
	check(c.PingInterval >= 0, "PingInterval %v is negative", c.PingInterval)
	for _, u := range c.STUNURLs {
		check(strings.HasPrefix(u, "stun:") || strings.HasPrefix(u, "stuns:"), "STUN URL %q does not start with stun: or stuns:", u)
	}
	for _, u := range c.TURNURLs {
		check(strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:"), "TURN URL %q does not start with turn: or turns:", u)
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if c.MaxRoomSize == 0 {
		c.MaxRoomSize = 16
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
	if c.MaxErrors == 0 {
		c.MaxErrors = 10
	}
	if c.STUNURLs == nil {
		c.STUNURLs = []string{"stun:" + hostPlaceholder + ":3478"}
	}
	if c.TURNURLs == nil {
		c.TURNURLs = []string{
			"turn:" + hostPlaceholder + ":3478?transport=udp",
			"turn:" + hostPlaceholder + ":3478?transport=tcp",
		}
	}
	if c.TURNTTL == 0 {
		c.TURNTTL = 24 * time.Hour
	}
	if c.Rooms == nil {
		c.Rooms = NewMemoryRooms()
	}
	if c.PingInterval == 0 {
		c.PingInterval = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

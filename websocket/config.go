package websocket

import (
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"time"
)

// Config configures a Server. The zero value is usable; every zero field
// means the default documented on it.
type Config struct {
	// Subprotocols the server speaks, in order of preference
	// (RFC 6455 §4.2.2 Sec-WebSocket-Protocol). Default: none.
	Subprotocols []string

	// CheckOrigin decides whether a browser request's Origin is allowed.
	// Default: allowed when there is no Origin header or its host equals the
	// request's Host (same origin). Return true to allow all.
	CheckOrigin func(r *http.Request) bool

	// MaxMessageSize is the largest message accepted, after decompression;
	// larger ones close the connection with 1009. Default 1 MiB.
	MaxMessageSize int64

	// Compression enables permessage-deflate (RFC 7692) when the client
	// offers it.
	Compression bool
	// CompressionLevel for klauspost/compress/flate. Default 1 (fastest).
	CompressionLevel int
	// CompressionThreshold: messages shorter than this are sent
	// uncompressed. Default 64 bytes.
	CompressionThreshold int

	// WriteBufferLimit bounds a connection's pending output in bytes; a
	// connection over it is a slow consumer and is dropped. Default 4 MiB.
	WriteBufferLimit int

	// HandshakeTimeout bounds reading the HTTP upgrade request on
	// connections accepted by Serve. Default 10 s.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's Close frame after ours.
	// Default 3 s.
	CloseTimeout time.Duration
	// PingInterval: when set, the server pings a connection that has been
	// silent this long, and drops it if nothing arrives within another
	// interval after the Ping. Default 0 (off).
	PingInterval time.Duration

	// HTTPIdleTimeout closes a keep-alive connection of a non-WebSocket
	// request served by Serve after this long without a new request.
	// Default 60 s.
	HTTPIdleTimeout time.Duration
	// HTTPReadTimeout bounds reading a whole non-WebSocket request served by
	// Serve, body included, so a trickled body cannot hold a connection.
	// Default 30 s. (No write timeout: long-polling holds responses open.)
	HTTPReadTimeout time.Duration

	// Loops is the number of event loops on Linux. Default GOMAXPROCS.
	Loops int
	// HandshakeWorkers bounds concurrent upgrade handlers run for
	// connections accepted by Serve. Default 4 × GOMAXPROCS.
	HandshakeWorkers int

	// Admit, when set, is called once for every connection Serve accepts,
	// before anything is read from it, with the peer's address. ok false
	// refuses the connection: it is answered 429 Too Many Requests (with
	// Connection: close) and closed. When ok, release (which may be nil) is
	// called exactly once when the connection is finally closed, whichever
	// path it took: WebSocket, net/http, or a hijack by Upgrade. A
	// connection hijacked by anyone else is released at the hijack.
	// Connections that reach Upgrade from a net/http server of the caller's
	// are not seen. Admit runs on the accept goroutine and must not block.
	Admit func(remote netip.Addr) (release func(), ok bool)

	// Logger receives connection-level logs. Default slog.Default().
	Logger *slog.Logger

	// disableURing makes the loops flush with write(2) only (tests).
	disableURing bool
}

func (c Config) withDefaults() Config {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 1 << 20
	}
	if c.CompressionLevel == 0 {
		c.CompressionLevel = 1
	}
	if c.CompressionThreshold <= 0 {
		c.CompressionThreshold = 64
	}
	if c.WriteBufferLimit <= 0 {
		c.WriteBufferLimit = 4 << 20
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 3 * time.Second
	}
	if c.HTTPIdleTimeout <= 0 {
		c.HTTPIdleTimeout = 60 * time.Second
	}
	if c.HTTPReadTimeout <= 0 {
		c.HTTPReadTimeout = 30 * time.Second
	}
	if c.Loops <= 0 {
		c.Loops = runtime.GOMAXPROCS(0)
	}
	if c.HandshakeWorkers <= 0 {
		c.HandshakeWorkers = 4 * runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

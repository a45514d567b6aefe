package websocket

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DialOptions configures Dial. The zero value is usable.
type DialOptions struct {
	// Header is added to the handshake request (Origin, Authorization …).
	Header http.Header
	// Subprotocols to offer, in order of preference.
	Subprotocols []string
	// Compression offers permessage-deflate with no context takeover in
	// either direction.
	Compression bool
	// MaxMessageSize bounds received messages. Default 32 MiB.
	MaxMessageSize int64
	// TLSConfig for wss:// URLs. Default: system roots, ServerName from URL.
	TLSConfig *tls.Config
	// NetDial replaces the TCP dialer (tests, proxies).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ClientConn is a client-side WebSocket connection with a blocking API: Read
// parses in the caller's goroutine and writes happen in the writer's
// goroutine, so a ClientConn owns no goroutines. Read must not be called
// concurrently with itself; Write may be called from any goroutine.
type ClientConn struct {
	c    *Conn
	cfg  Config
	wmu  sync.Mutex // one flusher at a time
	rmu  sync.Mutex
	br   *bufio.Reader
	buf  []byte
	msgs []clientMsg
	err  error // why the connection ended
}

type clientMsg struct {
	typ  MessageType
	data []byte
}

type clientHandler struct{ cc *ClientConn }

func (h clientHandler) OnOpen(*Conn) {}
func (h clientHandler) OnMessage(_ *Conn, typ MessageType, data []byte) {
	h.cc.msgs = append(h.cc.msgs, clientMsg{typ, append([]byte(nil), data...)})
}
func (h clientHandler) OnClose(_ *Conn, err error) { h.cc.err = err }

// clientDriver: writes are flushed by the writing goroutine itself.
type clientDriver struct{ nc net.Conn }

func (clientDriver) schedule(*Conn)    {}
func (clientDriver) urgent(*Conn) bool { return false }
func (d clientDriver) abort(*Conn)     { _ = d.nc.Close() }

// Dial opens a WebSocket connection to a ws:// or wss:// URL (RFC 6455 §4.1).
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*ClientConn, *http.Response, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	var useTLS bool
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		useTLS = true
	default:
		return nil, nil, fmt.Errorf("websocket: dial: unsupported scheme %q", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		if useTLS {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	dial := opts.NetDial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	if useTLS {
		tc := opts.TLSConfig.Clone()
		if tc == nil {
			tc = &tls.Config{}
		}
		if tc.ServerName == "" {
			tc.ServerName = u.Hostname()
		}
		tconn := tls.Client(nc, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, nil, fmt.Errorf("websocket: dial: tls: %w", err)
		}
		nc = tconn
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	cc, resp, err := clientHandshake(nc, u, opts)
	if !stop() || err != nil {
		_ = nc.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, resp, err
	}
	_ = nc.SetDeadline(time.Time{})
	return cc, resp, nil
}

func clientHandshake(nc net.Conn, u *url.URL, opts *DialOptions) (*ClientConn, *http.Response, error) {
	var kb [16]byte
	_, _ = crand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	req := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	for k, vs := range opts.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if len(opts.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(opts.Subprotocols, ", "))
	}
	if opts.Compression {
		req.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	}
	var head strings.Builder
	fmt.Fprintf(&head, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	_ = req.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := nc.Write([]byte(head.String())); err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: %w", err)
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: dial: reading response: %w", err)
	}
	fail := func(msg string) (*ClientConn, *http.Response, error) {
		return nil, resp, fmt.Errorf("websocket: dial: bad handshake: %s", msg)
	}
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return fail(resp.Status)
	case !headerHasToken(resp.Header, "Upgrade", "websocket"):
		return fail("missing Upgrade: websocket")
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		return fail("missing Connection: Upgrade")
	case resp.Header.Get("Sec-Websocket-Accept") != acceptKey(key):
		return fail("wrong Sec-WebSocket-Accept")
	}
	sub := resp.Header.Get("Sec-Websocket-Protocol")
	if sub != "" && selectSubprotocol([]string{sub}, opts.Subprotocols) == "" {
		return fail("server chose a subprotocol we did not offer")
	}
	deflate := false
	for _, ext := range parseExtensions(resp.Header.Values("Sec-Websocket-Extensions")) {
		if ext.name != "permessage-deflate" || !opts.Compression || deflate {
			return fail("server chose an extension we did not offer: " + ext.name)
		}
		noCtx := false
		for _, p := range ext.params {
			switch p.name {
			case "server_no_context_takeover":
				noCtx = true
			case "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits":
			default:
				return fail("unknown permessage-deflate parameter " + p.name)
			}
		}
		if !noCtx {
			return fail("server would keep its compression context")
		}
		deflate = true
	}
	cfg := Config{MaxMessageSize: opts.MaxMessageSize}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = 32 << 20
	}
	cfg.WriteBufferLimit = 1 << 62
	cfg = cfg.withDefaults()
	cc := &ClientConn{br: br, cfg: cfg}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	c := &Conn{
		cfg:         &cc.cfg,
		fd:          -1,
		nc:          nc,
		client:      true,
		deflate:     deflate,
		subprotocol: sub,
		remote:      addrPort(nc.RemoteAddr()),
		drv:         clientDriver{nc},
		rng:         rand.NewChaCha8(seed),
		st:          stOpen,
	}
	c.h = clientHandler{cc}
	cc.c = c
	return cc, resp, nil
}

// Conn returns the underlying connection (Subprotocol, RemoteAddr …).
func (cc *ClientConn) Conn() *Conn { return cc.c }

// Subprotocol returns the subprotocol the server chose.
func (cc *ClientConn) Subprotocol() string { return cc.c.subprotocol }

// Write sends a data message, blocking until it is written or ctx is done.
func (cc *ClientConn) Write(ctx context.Context, typ MessageType, data []byte) error {
	if err := cc.c.WriteMessage(typ, data); err != nil {
		return err
	}
	return cc.flush(ctx)
}

// Ping sends a Ping frame; the Pong is consumed by Read.
func (cc *ClientConn) Ping(ctx context.Context, payload []byte) error {
	if err := cc.c.Ping(payload); err != nil {
		return err
	}
	return cc.flush(ctx)
}

func (cc *ClientConn) flush(ctx context.Context) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.c.nc.SetWriteDeadline(dl)
		defer cc.c.nc.SetWriteDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = cc.c.nc.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	cc.c.mu.Lock()
	cc.c.st |= stDirty
	cc.c.mu.Unlock()
	flushBlocking(cc.c)
	cc.c.mu.Lock()
	defer cc.c.mu.Unlock()
	if cc.c.st&stAborted != 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrClosed
	}
	return nil
}

// Read returns the next data message. After the connection ends it returns
// the reason: a *CloseError for a close handshake.
func (cc *ClientConn) Read(ctx context.Context) (MessageType, []byte, error) {
	cc.rmu.Lock()
	defer cc.rmu.Unlock()
	if cc.buf == nil {
		cc.buf = make([]byte, 32<<10)
	}
	stop := context.AfterFunc(ctx, func() { _ = cc.c.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.c.nc.SetReadDeadline(dl)
	}
	defer cc.c.nc.SetReadDeadline(time.Time{})
	for {
		if len(cc.msgs) > 0 {
			m := cc.msgs[0]
			cc.msgs[0] = clientMsg{}
			cc.msgs = cc.msgs[1:]
			return m.typ, m.data, nil
		}
		if cc.err != nil {
			return 0, nil, cc.err
		}
		n, err := cc.br.Read(cc.buf)
		if n > 0 && !cc.c.rd.discard {
			if ferr := cc.c.feed(cc.buf[:n]); ferr != nil {
				cc.c.fail(ferr)
			}
			if cc.c.Buffered() > 0 || cc.c.state()&stWriteClose != 0 {
				_ = cc.flush(context.Background())
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && cc.c.state()&stClosed == 0 {
				// Our deadline, set from ctx: report the context's error even
				// if its own timer has not fired yet.
				if cerr := ctxErr(ctx); cerr != nil {
					return 0, nil, cerr
				}
				return 0, nil, err
			}
			if ctx.Err() != nil && cc.c.state()&stClosed == 0 {
				return 0, nil, ctx.Err()
			}
			_ = cc.c.nc.Close()
			cc.c.finish(err)
		}
	}
}

// ctxErr is ctx.Err(), or DeadlineExceeded once ctx's deadline has passed.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// Close performs the closing handshake: it sends Close with code and reason,
// waits (bounded by 3 s) for the server's Close and for it to close TCP.
func (cc *ClientConn) Close(code StatusCode, reason string) error {
	if err := cc.c.Close(code, reason); err != nil {
		return cc.CloseNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cc.cfg.CloseTimeout)
	defer cancel()
	_ = cc.flush(ctx)
	for {
		if _, _, err := cc.Read(ctx); err != nil {
			break
		}
	}
	return cc.CloseNow()
}

// CloseNow closes the TCP connection without a handshake.
func (cc *ClientConn) CloseNow() error {
	err := cc.c.nc.Close()
	cc.c.mu.Lock()
	if cc.c.timer != nil {
		cc.c.timer.Stop()
	}
	cc.c.mu.Unlock()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// newMaskKey draws a masking key from the connection's CSPRNG (RFC 6455
// §5.3: unpredictable keys). Called with c.mu held.
func (c *Conn) newMaskKey() [4]byte {
	var k [4]byte
	v := c.rng.Uint64()
	k[0], k[1], k[2], k[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	return k
}

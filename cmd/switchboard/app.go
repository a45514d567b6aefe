package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/adapter/redis"
	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/engineio"
	"github.com/switchboard/switchboard/internal/limit"
	"github.com/switchboard/switchboard/internal/sioservice"
	"github.com/switchboard/switchboard/internal/tlsreload"
	"github.com/switchboard/switchboard/peerjs"
	"github.com/switchboard/switchboard/signaling"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/turn"
	"github.com/switchboard/switchboard/web"
	"github.com/switchboard/switchboard/websocket"
)

// app is everything one switchboard process serves. newApp builds it and
// starts nothing; start opens the listeners; shutdown drains in reverse.
type app struct {
	cfg *config
	log *slog.Logger

	ws   *websocket.Server // owns the HTTP listener and the event loops
	eio  *engineio.Server
	sio  *socketio.Server
	sig  *signaling.Server
	pjs  *peerjs.Server
	turn *turn.Server
	mux  *http.ServeMux

	cluster *redisadapter.Cluster // nil when standalone
	rdb     *redis.Client

	auth      *auth.Verifier          // nil without --jwt-secret/--jwt-jwks: open
	connLimit *limit.PerIP            // per-address limits on --listen
	sioLimits func() sioservice.Stats // the Socket.IO service's limit counters
	sigRoomDB signaling.Rooms         // signaling's room state (for metrics)

	tlsConfig *tls.Config
	cert      *tlsreload.Holder // nil without TLS
	wg        sync.WaitGroup
	errs      chan error
}

func newApp(cfg *config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, mux: http.NewServeMux(), errs: make(chan error, 8)}
	var err error
	if cfg.tlsCert != "" {
		// HTTPS/WSS and TURNS share one holder; SIGHUP reloads it (reloadTLS).
		if a.cert, err = tlsreload.New(cfg.tlsCert, cfg.tlsKey); err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		a.tlsConfig = &tls.Config{GetCertificate: a.cert.GetCertificate, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	}

	// The engine that accepts every HTTP connection; its limits are the
	// echo endpoint's. The other endpoints upgrade with limits of their own
	// and their connections run on this engine's loops.
	if a.connLimit, err = limit.NewPerIP(limit.PerIPConfig{
		MaxConns: cfg.lim.maxConnsPerIP,
		Rate:     cfg.lim.connRatePerIP,
		Exempt:   cfg.lim.exempt,
	}); err != nil {
		return nil, err
	}
	if a.ws, err = websocket.NewServer(websocket.Config{
		Compression:    true,
		MaxMessageSize: cfg.wsMaxMessage,
		CheckOrigin:    a.checkOrigin(func(*http.Request) bool { return true }),
		Admit:          a.admit,
		Logger:         log,
	}); err != nil {
		return nil, err
	}

	// With --redis-url, Socket.IO rooms and broadcasts, the signaling
	// rooms and PeerJS ids are shared with the other nodes through Redis.
	sioCfg := socketio.Config{Recovery: &socketio.RecoveryConfig{}, Logger: log}
	sigCfg := signaling.Config{
		MaxRoomSize:    cfg.lim.sigMaxRoomSize,
		MaxMessageSize: cfg.lim.sigMaxMessage,
		MessageRate:    cfg.lim.sigMessageRate,
		MessageBurst:   max(1, int(4*cfg.lim.sigMessageRate)),
		CheckOrigin:    a.checkOrigin(nil), // nil: same origin only, signaling's default
		Logger:         log,
	}
	pjsCfg := peerjs.Config{CheckOrigin: a.checkOrigin(nil), Logger: log}
	if cfg.redisURL != "" {
		opts, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		a.rdb = redis.NewClient(opts)
		if a.cluster, err = redisadapter.New(a.rdb, redisadapter.Options{Logger: log}); err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		sioCfg.Adapter = a.cluster.Adapter
		if sigCfg.Rooms, err = a.cluster.Rooms(redisadapter.RoomsOptions{}); err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		if pjsCfg.Cluster, err = a.cluster.PeerJS(redisadapter.PeerJSOptions{}); err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
	}

	// With --jwt-secret/--jwt-jwks, Socket.IO connect, signaling join and
	// the PeerJS token need a JWT.
	if a.auth, err = cfg.verifier(); err != nil {
		return nil, err
	}
	if a.auth != nil {
		sigCfg.Auth = signaling.JWTAuth(a.auth)
	}

	if sigCfg.Rooms == nil {
		sigCfg.Rooms = signaling.NewMemoryRooms()
	}
	a.sigRoomDB = sigCfg.Rooms

	// Socket.IO with the default-namespace service of the contract.
	if a.sio, err = socketio.New(sioCfg); err != nil {
		return nil, err
	}
	a.sioLimits = sioservice.InstallWith(a.sio.Of("/"), sioservice.Options{
		Auth:   a.auth,
		Logger: log,
		Limits: sioservice.Limits{
			MessageRate: cfg.lim.sioMessageRate,
			MaxRooms:    cfg.lim.sioMaxRooms,
			MaxRoomSize: cfg.lim.sioMaxRoomSize,
		},
	})
	eioCfg := engineio.Config{
		Handler:    a.sio.EngineHandler(),
		MaxPayload: cfg.lim.sioMaxPayload,
		CORS:       engineio.CORS{Origins: cfg.lim.origins.Origins()},
		Logger:     log,
	}
	if !cfg.lim.origins.AllowsAll() {
		eioCfg.CheckOrigin = cfg.lim.origins.Check
	}
	if a.eio, err = engineio.New(eioCfg); err != nil {
		return nil, err
	}

	// WebRTC signaling, with TURN credentials when TURN has a secret.
	if cfg.turnListen == "off" {
		sigCfg.STUNURLs = []string{}
	} else {
		// Point browsers at the ports this process listens on; "{host}" is
		// the host name the client connected to.
		port := listenPort(cfg.turnListen, "3478")
		sigCfg.STUNURLs = []string{"stun:{host}:" + port}
		if cfg.turnSecret != "" {
			sigCfg.TURNSecret = cfg.turnSecret
			sigCfg.TURNURLs = []string{"turn:{host}:" + port + "?transport=udp", "turn:{host}:" + port + "?transport=tcp"}
			if cfg.turnTLSListen != "" {
				sigCfg.TURNURLs = append(sigCfg.TURNURLs, "turns:{host}:"+listenPort(cfg.turnTLSListen, "5349")+"?transport=tcp")
			}
		}
	}
	if a.sig, err = signaling.New(sigCfg); err != nil {
		return nil, err
	}
	if a.auth != nil {
		pjsCfg.Auth = peerjs.JWTAuth(a.auth)
	}
	if a.pjs, err = peerjs.New(pjsCfg); err != nil {
		return nil, err
	}

	if cfg.turnListen != "off" {
		if a.turn, err = turn.New(turn.Config{
			Realm:      cfg.turnRealm,
			Secret:     cfg.turnSecret,
			Users:      cfg.turnUsers,
			RelayIP:    cfg.turnRelayIP,
			AllowPeers: cfg.turnAllow,
			Logger:     log,
		}); err != nil {
			return nil, fmt.Errorf("turn: %w", err)
		}
	}
	a.routes()
	return a, nil
}

// admit applies the per-address limits to a connection accepted on
// --listen (websocket.Config.Admit).
func (a *app) admit(remote netip.Addr) (func(), bool) {
	release, refused := a.connLimit.Admit(remote)
	if refused != "" {
		a.log.Debug("connection refused", "remote", remote.String(), "limit", string(refused))
		return nil, false
	}
	return release, true
}

// checkOrigin is an endpoint's browser origin policy: the --allowed-origins
// list when one is set, otherwise def (nil: the engine's default).
func (a *app) checkOrigin(def func(*http.Request) bool) func(*http.Request) bool {
	if !a.cfg.lim.origins.AllowsAll() {
		return a.cfg.lim.origins.Check
	}
	return def
}

func (a *app) routes() {
	m := a.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if a.cluster != nil && !a.cluster.Ready() {
			http.Error(w, "not ready: redis unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	m.Handle("/", web.Handler())
	m.Handle("GET /metrics", a.metricsHandler())
	m.Handle("/socket.io/", a.eio)
	m.Handle("/api/publish", sioservice.PublishHandler(a.sio.Of("/"), a.cfg.apiKey, a.log))
	m.Handle("/signal", a.sig)
	m.Handle("/peerjs", a.pjs)
	m.Handle("/peerjs/", a.pjs)
	if a.cfg.echo {
		m.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			_, _ = a.ws.Upgrade(w, r, echoHandler{})
		})
	}
}

// start opens the listeners and serves in the background; failures arrive
// on a.errs.
func (a *app) start() error {
	ln, err := net.Listen("tcp", a.cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", a.cfg.listen, err)
	}
	if a.tlsConfig != nil {
		ln = tls.NewListener(ln, a.tlsConfig)
	}
	a.log.Info("http listening", "addr", ln.Addr().String(), "tls", a.tlsConfig != nil, "echo", a.cfg.echo)
	a.serve("http", func() error { return a.ws.Serve(ln, a.mux) })

	if a.turn != nil {
		tl, err := net.Listen("tcp", a.cfg.turnListen)
		if err != nil {
			return fmt.Errorf("--turn-listen %s (tcp): %w", a.cfg.turnListen, err)
		}
		a.serve("turn-tcp", func() error { return a.turn.ServeTCP(tl) })
		a.serve("turn-udp", func() error { return a.turn.ServeUDP(a.cfg.turnListen) })
		if a.cfg.turnTLSListen != "" {
			tls0, err := net.Listen("tcp", a.cfg.turnTLSListen)
			if err != nil {
				return fmt.Errorf("--turn-tls-listen %s: %w", a.cfg.turnTLSListen, err)
			}
			a.serve("turn-tls", func() error { return a.turn.ServeTCP(tls.NewListener(tls0, a.tlsConfig)) })
		}
		a.log.Info("turn listening", "addr", a.cfg.turnListen, "tls", a.cfg.turnTLSListen, "realm", a.cfg.turnRealm)
	}
	return nil
}

func (a *app) serve(name string, f func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := f()
		if err != nil && !errors.Is(err, websocket.ErrServerClosed) && !errors.Is(err, turn.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			a.errs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// shutdown stops accepting, closes WebSocket peers with 1001, closes
// Socket.IO and signaling sessions, closes TURN allocations, and waits for
// the serving goroutines. Components drain concurrently; a polling client
// gets a few seconds to collect its close packet.
func (a *app) shutdown(ctx context.Context) error {
	pollCtx, cancel := context.WithTimeout(ctx, pollDrain)
	defer cancel()
	steps := []func() error{
		func() error { return a.sio.Shutdown(pollCtx) },
		func() error { return a.eio.Shutdown(pollCtx) },
		func() error { return a.sig.Shutdown(ctx) },
		func() error { return a.pjs.Shutdown(ctx) },
		func() error { return a.ws.Shutdown(ctx) },
	}
	if a.turn != nil {
		steps = append(steps, func() error { return a.turn.Shutdown(ctx) })
	}
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, f := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	if a.cluster != nil {
		// After Socket.IO and signaling: their last publications flush first.
		errs = append(errs, a.cluster.Shutdown(ctx), a.rdb.Close())
	}
	a.wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil && !errors.Is(e, websocket.ErrServerClosed) && !errors.Is(e, turn.ErrServerClosed) && !errors.Is(e, context.DeadlineExceeded) {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// reloadTLS reads --tls-cert/--tls-key again (on SIGHUP). New handshakes on
// --listen and --turn-tls-listen get the new pair; established connections
// keep theirs. On failure the current pair stays.
func (a *app) reloadTLS() {
	if a.cert == nil {
		a.log.Info("SIGHUP: no TLS certificate to reload")
		return
	}
	cert, err := a.cert.Reload()
	if err != nil {
		a.log.Error("tls reload failed; keeping the current certificate", "err", err)
		return
	}
	if cert.Leaf == nil { // only under GODEBUG=x509keypairleaf=0
		a.log.Info("tls certificate reloaded")
		return
	}
	a.log.Info("tls certificate reloaded", "subject", cert.Leaf.Subject.String(), "serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter)
}

// pollDrain bounds how long shutdown waits for long-polling clients to
// collect their close packet.
const pollDrain = 2 * time.Second

// listenPort is the port of a listen address, or def when it has none.
func listenPort(addr, def string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" {
		return port
	}
	return def
}

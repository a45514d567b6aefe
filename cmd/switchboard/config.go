package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/turn"
)

// config is the binary's settings (../../shared CONTRACT.md "Binary"). Every
// flag also reads SWITCHBOARD_<FLAG> (dashes as underscores; repeatable
// flags take a comma-separated list) and the key <flag> of the --config
// YAML file (configfile.go); flags override the environment, which
// overrides the file.
type config struct {
	listen          string
	tlsCert, tlsKey string
	echo            bool
	apiKey          string

	turnListen    string
	turnTLSListen string
	turnRealm     string
	turnSecret    string
	turnUsers     map[string]string
	turnRelayIP   netip.Addr
	turnAllow     []netip.Prefix

	redisURL string

	jwtSecret, jwtJWKS, jwtIssuer, jwtAudience string

	lim limitsConfig // limits.go: per-address limits, origins, Socket.IO and signaling limits

	logFormat       string
	logLevel        slog.Level
	wsMaxMessage    int64
	shutdownTimeout time.Duration
}

// listFlag is a repeatable flag.
type listFlag struct {
	vals *[]string
	set  bool
}

func (f *listFlag) String() string {
	if f.vals == nil {
		return ""
	}
	return strings.Join(*f.vals, ",")
}

func (f *listFlag) Set(v string) error {
	if !f.set { // the first flag on the command line replaces the environment's list
		*f.vals = nil
		f.set = true
	}
	*f.vals = append(*f.vals, v)
	return nil
}

func parseConfig(args []string, getenv func(string) string) (_ *config, err error) {
	c := &config{}
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var level, relayIP string
	var users, allow []string
	fs.StringVar(&c.listen, "listen", ":8080", "HTTP listener: demo, Socket.IO, signaling, PeerJS, API, health, metrics")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "certificate file: serve HTTPS/WSS on --listen (and TURNS)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key file for --tls-cert")
	fs.BoolVar(&c.echo, "echo", false, "mount a WebSocket echo endpoint at /echo")
	fs.StringVar(&c.apiKey, "api-key", "", "bearer key for POST /api/publish; without it the API answers 401")
	fs.StringVar(&c.turnListen, "turn-listen", ":3478", "STUN/TURN over UDP and TCP on this address; off disables")
	fs.StringVar(&c.turnTLSListen, "turn-tls-listen", "", "TURN over TLS on this address (needs --tls-cert/--tls-key)")
	fs.StringVar(&c.turnRealm, "turn-realm", turn.DefaultRealm, "long-term credential realm")
	fs.StringVar(&c.turnSecret, "turn-secret", "", "shared secret for time-limited TURN REST credentials (also minted by signaling)")
	fs.Var(&listFlag{vals: &users}, "turn-user", "a static long-term TURN user NAME=PASS; repeatable")
	fs.StringVar(&relayIP, "turn-relay-ip", "", "address relayed transport addresses are allocated on (default: first non-loopback IPv4)")
	fs.Var(&listFlag{vals: &allow}, "turn-allow-peer", "CIDR of peers that may be relayed to even if denied by default; repeatable")
	fs.StringVar(&c.redisURL, "redis-url", "", "join other nodes through Redis (redis://127.0.0.1:6379/0); without it the node is standalone, in memory")
	fs.StringVar(&c.jwtSecret, "jwt-secret", "", "require JWTs on Socket.IO, /signal and PeerJS, HS256 under this secret (at least 32 bytes)")
	fs.StringVar(&c.jwtJWKS, "jwt-jwks", "", "require JWTs on Socket.IO, /signal and PeerJS, RS256/ES256 under the keys of this JWK Set file (reloaded on SIGHUP)")
	fs.StringVar(&c.jwtIssuer, "jwt-issuer", "", "with --jwt-secret/--jwt-jwks: the iss every token must carry")
	fs.StringVar(&c.jwtAudience, "jwt-audience", "", "with --jwt-secret/--jwt-jwks: an aud every token must carry")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	fs.Int64Var(&c.wsMaxMessage, "ws-max-message", 16<<20, "largest message accepted on /echo, in bytes (after decompression)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long SIGTERM waits for connections to close")

	// Limits and browser origins (README "Limits"); 0 disables a limit.
	limExempt, origins := []string{"127.0.0.0/8", "::1/128"}, []string(nil)
	fs.IntVar(&c.lim.maxConnsPerIP, "max-conns-per-ip", 256, "most connections one client address (IPv6: /64) may hold open on --listen; 0: unlimited")
	fs.Float64Var(&c.lim.connRatePerIP, "conn-rate-per-ip", 20, "new connections per second per client address on --listen (burst: two seconds' worth); 0: unlimited")
	fs.Var(&listFlag{vals: &limExempt}, "limit-exempt", "CIDR exempt from the per-address limits; repeatable (default loopback; none: no exemption)")
	fs.Var(&listFlag{vals: &origins}, "allowed-origins", "browser origin (scheme://host[:port]) allowed on WebSocket and Engine.IO endpoints; repeatable (default: every origin)")
	fs.IntVar(&c.lim.sioMaxPayload, "sio-max-payload", 1_000_000, "largest Socket.IO (Engine.IO) message or polling body, in bytes")
	fs.Float64Var(&c.lim.sioMessageRate, "sio-message-rate", 100, "Socket.IO join/leave/publish events per second per connection (burst: two seconds' worth); 0: unlimited")
	fs.IntVar(&c.lim.sioMaxRooms, "sio-max-rooms", 100, "rooms one Socket.IO connection may join; 0: unlimited")
	fs.IntVar(&c.lim.sioMaxRoomSize, "sio-max-room-size", 10000, "most members of a Socket.IO room, across the cluster; 0: unlimited")
	fs.IntVar(&c.lim.sigMaxRoomSize, "signal-max-room-size", 16, "most peers in a /signal room")
	fs.Float64Var(&c.lim.sigMessageRate, "signal-message-rate", 50, "/signal frames per second per peer (burst: four seconds' worth)")
	fs.IntVar(&c.lim.sigMaxMessage, "signal-max-message", 64<<10, "largest /signal frame, in bytes")

	fs.String("config", "", "YAML file of these settings, keyed by flag name (see above)") // read by configPath

	// The file first, then the environment, so that each overrides the one
	// before and flags override both.
	if path := configPath(fs, args, getenv); path != "" {
		file, ferr := applyConfigFile(fs, path)
		if ferr != nil {
			return nil, ferr
		}
		defer func() { err = file.blame(err, fs, getenv) }() // err: the named result
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if v == "" || envErr != nil {
			return
		}
		vals := []string{v}
		if lf, ok := f.Value.(*listFlag); ok {
			vals = strings.Split(v, ",")
			defer func() { lf.set = false }()
		}
		for _, one := range vals {
			if err := f.Value.Set(strings.TrimSpace(one)); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequested{usage: usage(fs)}
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.logLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.turnTLSListen != "" && c.tlsCert == "" {
		return nil, errors.New("--turn-tls-listen needs --tls-cert and --tls-key")
	}
	if c.wsMaxMessage <= 0 {
		return nil, fmt.Errorf("--ws-max-message %d: must be positive", c.wsMaxMessage)
	}
	if c.turnRealm == "" {
		return nil, errors.New("--turn-realm: must not be empty")
	}
	for _, u := range users {
		name, pass, err := turn.ParseUser(u)
		if err != nil {
			return nil, fmt.Errorf("--turn-user %q: %v", u, err)
		}
		if c.turnUsers == nil {
			c.turnUsers = map[string]string{}
		}
		c.turnUsers[name] = pass
	}
	for _, a := range allow {
		p, err := turn.ParsePeerPrefix(a)
		if err != nil {
			return nil, fmt.Errorf("--turn-allow-peer %q: %v", a, err)
		}
		c.turnAllow = append(c.turnAllow, p)
	}
	if c.redisURL != "" {
		if _, err := redis.ParseURL(c.redisURL); err != nil {
			return nil, fmt.Errorf("--redis-url %q: %v", c.redisURL, err)
		}
	}
	if err := c.checkJWT(); err != nil {
		return nil, err
	}
	if err := c.lim.validate(limExempt, origins); err != nil {
		return nil, err
	}
	if relayIP != "" {
		ip, err := netip.ParseAddr(relayIP)
		if err != nil {
			return nil, fmt.Errorf("--turn-relay-ip %q: not an IP address", relayIP)
		}
		c.turnRelayIP = ip
	}
	return c, nil
}

func (c *config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

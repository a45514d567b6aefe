package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// config is the binary's settings. Every flag also reads SWITCHBOARD_<NAME>
// (dashes as underscores); flags override the environment.
type config struct {
	listen          string
	tlsCert, tlsKey string
	echo            bool
	logFormat       string
	logLevel        slog.Level
	wsMaxMessage    int64
	shutdownTimeout time.Duration
}

func parseConfig(args []string, getenv func(string) string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var level string
	fs.StringVar(&c.listen, "listen", ":8080", "HTTP listener: demo, Socket.IO, signaling, API, health, metrics")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "certificate file: serve HTTPS/WSS on --listen")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key file for --tls-cert")
	fs.BoolVar(&c.echo, "echo", false, "mount a WebSocket echo endpoint at /echo")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&level, "log-level", "info", "log level: debug, info, warn, error")
	fs.Int64Var(&c.wsMaxMessage, "ws-max-message", 64<<20, "largest WebSocket message accepted, in bytes")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long SIGTERM waits for connections to close")

	// Environment first, so that flags override it.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fmt.Fprintln(os.Stdout, "Usage: switchboard [flags]\n\nEvery flag also reads SWITCHBOARD_<FLAG> from the environment.")
			fs.PrintDefaults()
			os.Exit(0)
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
	if c.wsMaxMessage <= 0 {
		return nil, fmt.Errorf("--ws-max-message %d: must be positive", c.wsMaxMessage)
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

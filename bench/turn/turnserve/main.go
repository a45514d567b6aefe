// Command turnserve runs the turn package alone, for benchmarks and manual
// interop runs beside coturn. The switchboard binary is the product; this
// is a harness with the same settings as its --turn-* flags plus the knobs
// a benchmark needs.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/turn"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "turnserve:", err)
		os.Exit(1)
	}
}

func run() error {
	var users, allow list
	listen := flag.String("listen", "127.0.0.1:3478", "UDP and TCP address")
	tlsListen := flag.String("tls-listen", "", "TLS address (needs -cert and -key)")
	cert := flag.String("cert", "", "TLS certificate file")
	key := flag.String("key", "", "TLS key file")
	realm := flag.String("realm", "switchboard", "realm")
	secret := flag.String("secret", "", "TURN REST shared secret")
	relayIP := flag.String("relay-ip", "127.0.0.1", "relay address")
	quota := flag.Int("quota", -1, "allocations per user and per IP (-1: unlimited)")
	bitrate := flag.Int("bitrate", -1, "bytes/s per allocation (-1: no cap)")
	verbose := flag.Bool("v", false, "debug logs")
	loops := flag.Int("loops", 0, "relay loops and UDP sockets (0: GOMAXPROCS)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile here until exit")
	flag.Var(&users, "user", "NAME=PASS (repeatable)")
	flag.Var(&allow, "allow-peer", "CIDR (repeatable)")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg := turn.Config{
		Realm:          *realm,
		Secret:         *secret,
		Users:          map[string]string{},
		UserQuota:      *quota,
		IPQuota:        *quota,
		MaxAllocations: -1,
		MaxBitrate:     *bitrate,
		RelayLoops:     *loops,
		UDPSockets:     *loops,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	ip, err := netip.ParseAddr(*relayIP)
	if err != nil {
		return err
	}
	cfg.RelayIP = ip
	for _, u := range users {
		name, pass, err := turn.ParseUser(u)
		if err != nil {
			return err
		}
		cfg.Users[name] = pass
	}
	for _, a := range allow {
		p, err := turn.ParsePeerPrefix(a)
		if err != nil {
			return err
		}
		cfg.AllowPeers = append(cfg.AllowPeers, p)
	}
	s, err := turn.New(cfg)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	errc := make(chan error, 3)
	go func() { errc <- s.ServeUDP(*listen) }()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	go func() { errc <- s.ServeTCP(ln) }()
	if *tlsListen != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		tln, err := net.Listen("tcp", *tlsListen)
		if err != nil {
			return err
		}
		go func() { errc <- s.ServeTCP(tls.NewListener(tln, &tls.Config{Certificates: []tls.Certificate{pair}})) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-errc:
		return err
	}
	fmt.Fprintf(os.Stderr, "turnserve: stats %+v\n", s.Stats())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

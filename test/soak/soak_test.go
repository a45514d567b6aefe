package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// startServer builds switchboard and runs it on free loopback ports; the
// process is killed (by its PID) when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr, turn := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--listen", addr, "--turn-listen", turn, "--echo", "--api-key", "k", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	return addr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSoakSmoke is the soak in miniature: 200 connections of every kind for
// 10 s with churn and broadcasts, every check of the full run.
func TestSoakSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	addr := startServer(t)
	cfg := defaultConfig()
	cfg.Addr = addr
	cfg.Echo, cfg.SioWS, cfg.SioPoll, cfg.Signal = 70, 50, 20, 60
	cfg.Duration = 10 * time.Second
	cfg.RampRate = 200
	cfg.ChurnEvery, cfg.ChurnFraction = time.Second, 0.03
	cfg.PublishEvery, cfg.EchoEvery, cfg.RelayEvery = 300*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	cfg.SampleEvery, cfg.Grace, cfg.Warmup = time.Second, 3*time.Second, 2*time.Second
	cfg.SioRoomSize, cfg.SignalRoomSize = 10, 6
	// A 10 s run is too short for a memory trend; the growth bounds here
	// only catch gross leaks. The full run asserts the documented bounds.
	cfg.MaxRSSGrowth, cfg.MaxGoroutineGrowth = 1.0, 0.5
	cfg.Quiet = !testing.Verbose()

	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if !rep.Pass {
		t.Fatalf("soak failed: %v\n%s", rep.Violations, b)
	}
	for name, m := range rep.Messages {
		t.Logf("%s: sent %d, expected %d, received %d, latency p50 %.1f ms p99 %.1f ms", name, m.Sent, m.Expected, m.Received, m.Latency.P50ms, m.Latency.P99ms)
		if name != "signal_peer_joined" && m.Expected == 0 {
			t.Errorf("%s: nothing was checked", name)
		}
	}
	t.Logf("peak %d clients, %d churned, server RSS %.1f -> %.1f MiB, goroutines %d -> %d after drain",
		rep.PeakClients, rep.Churned, rep.Bounds.BaselineRSSMiB, rep.Bounds.FirstHalfRSSMiB, rep.Bounds.BaselineGoroutines, rep.Bounds.FinalGoroutines)
}

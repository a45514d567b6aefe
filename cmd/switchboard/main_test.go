package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/leakcheck"
	"github.com/switchboard/switchboard/websocket"
)

func TestMain(m *testing.M) {
	code := leakcheck.Run(m)
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
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

// TestBinaryEndToEnd builds switchboard, runs it on loopback ports and
// checks each endpoint of the contract, then SIGTERM: WebSocket clients get
// 1001 and the process exits 0.
func TestBinaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	httpAddr, turnAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--echo", "--api-key", "k")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_LISTEN="+httpAddr, "SWITCHBOARD_TURN_LISTEN="+turnAddr, "SWITCHBOARD_TURN_SECRET=s", "SWITCHBOARD_LOG_FORMAT=json")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stderr)
		logs <- string(b)
	}()
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	base := "http://" + httpAddr
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("demo page: %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "switchboard_websocket_connections") {
		t.Errorf("/metrics: %d", code)
	}
	if code, body := get("/socket.io/?EIO=4&transport=polling"); code != 200 || !strings.HasPrefix(body, `0{"sid":`) {
		t.Errorf("engine.io handshake: %d %q", code, body)
	}
	if code, _ := get("/peerjs/peerjs/id"); code != 200 {
		t.Errorf("/peerjs id: %d", code)
	}
	req, _ := http.NewRequest("POST", base+"/api/publish", strings.NewReader(`{"room":"r","event":"e","data":1}`))
	req.Header.Set("Authorization", "Bearer wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("/api/publish with a bad key: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// /signal: join answers with joined and iceServers carrying TURN credentials.
	sig, _, err := websocket.Dial(ctx, "ws://"+httpAddr+"/signal", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sig.Write(ctx, websocket.TextMessage, []byte(`{"type":"join","room":"r1","name":"ann"}`)); err != nil {
		t.Fatal(err)
	}
	_, joined, err := sig.Read(ctx)
	_, turnPort, _ := net.SplitHostPort(turnAddr)
	if err != nil || !strings.Contains(string(joined), `"type":"joined"`) || !strings.Contains(string(joined), "turn:127.0.0.1:"+turnPort+"?transport=udp") || !strings.Contains(string(joined), "stun:127.0.0.1:"+turnPort) {
		t.Fatalf("signal join: %s %v", joined, err)
	}
	// /echo.
	echo, _, err := websocket.Dial(ctx, "ws://"+httpAddr+"/echo", &websocket.DialOptions{Compression: true})
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Repeat("switchboard ", 1000)
	if err := echo.Write(ctx, websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := echo.Read(ctx); err != nil || string(got) != msg {
		t.Fatalf("echo: %v", err)
	}
	// STUN Binding over TCP to the TURN listener (RFC 8489 §6.2.2 framing).
	if err := stunBindingTCP(turnAddr); err != nil {
		t.Errorf("STUN over TCP: %v", err)
	}

	// SIGTERM: clients get 1001, the process exits 0.
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.ClientConn{echo, sig} {
		_, _, err := c.Read(ctx)
		if websocket.CloseStatus(err) != 1001 {
			t.Errorf("client got %v, want close 1001", err)
		}
		_ = c.CloseNow()
	}
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, <-logs)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if l := <-logs; !strings.Contains(l, `"msg":"stopped"`) {
		t.Errorf("no stopped log line:\n%s", l)
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// buildBinary builds switchboard once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "switchboard-test")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "switchboard")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// stunBindingTCP sends a Binding request and checks for a success response.
func stunBindingTCP(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	req := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if _, err := nc.Write(req); err != nil {
		return err
	}
	var hdr [20]byte
	if _, err := io.ReadFull(bufio.NewReader(nc), hdr[:]); err != nil {
		return err
	}
	if hdr[0] != 0x01 || hdr[1] != 0x01 || string(hdr[8:20]) != string(req[8:20]) {
		return fmt.Errorf("response header %x", hdr)
	}
	return nil
}

// TestBinaryBadConfigFile: a bad --config file makes the binary exit 2 with
// one line naming the file and the setting, before it listens anywhere.
func TestBinaryBadConfigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		viaEnv     bool
		want       string // after "switchboard: --config PATH: "
	}{
		{"bad value", "turn-relay-ip: nope\n", false, `turn-relay-ip "nope": not an IP address`},
		{"unknown key from SWITCHBOARD_CONFIG", "listen: 127.0.0.1:0\nturn-secrett: s\n", true, "turn-secrett: unknown setting (line 2)"},
		{"wrong type", "echo: yes\n", false, `echo: want true or false, got "yes" (str)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--turn-listen", "off")
			cmd.Env = os.Environ()
			if tc.viaEnv {
				cmd.Env = append(cmd.Env, "SWITCHBOARD_CONFIG="+path)
			} else {
				cmd.Args = append(cmd.Args, "--config", path)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Errorf("exit code %d (%v), want 2", code, err)
			}
			if want := "switchboard: --config " + path + ": " + tc.want + "\n"; stderr.String() != want {
				t.Errorf("stderr %q, want %q", stderr.String(), want)
			}
		})
	}
}

// Package testutil holds the few helpers that Switchboard's tests share for
// talking to outside components: Node.js and its packages, Chromium,
// redis-server and any other process a test starts itself.
//
// The rule it implements: a test that needs an outside component starts it on
// 127.0.0.1 with a free port and stops it when the test ends. If the component
// is missing the test is skipped on a developer machine, but fails when the
// environment variable CI is "true", so that CI can never go green by skipping.
// `make test` (scripts/deps.sh) installs everything these helpers look for.
package testutil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI (environment CI=true), where a
// missing outside component is a failure rather than a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireOrSkip skips the test when ok is false, naming what is missing, or
// fails it when running in CI.
func RequireOrSkip(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("%s is required (CI=true); run scripts/deps.sh or `make test`", what)
	}
	t.Skipf("%s not available; run scripts/deps.sh or `make test` to install it", what)
}

// RepoRoot returns the directory holding the module's go.mod, found by
// walking up from the test's working directory (the package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// LookPath returns the absolute path of the executable name, or skips/fails
// the test (see RequireOrSkip) when it is not installed.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	RequireOrSkip(t, name, err == nil)
	return p
}

// Node returns the path of the node binary (skip/fatal if missing).
func Node(t testing.TB) string {
	t.Helper()
	return LookPath(t, "node")
}

// NodeDir returns the absolute path of test/node, where the interop scripts
// (*.mjs) and package.json live.
func NodeDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "test", "node")
}

// NodeModules returns the absolute path of test/node/node_modules, or
// skips/fails the test when `npm ci` has not been run there.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(NodeDir(t), "node_modules")
	_, err := os.Stat(filepath.Join(dir, ".package-lock.json"))
	RequireOrSkip(t, "test/node/node_modules (npm ci)", err == nil)
	return dir
}

// Chromium returns the path of the Chromium binary: $SWITCHBOARD_CHROMIUM if
// set, else Debian's /usr/bin/chromium, else chromium or chromium-browser on
// PATH. It skips/fails the test when none exists.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SWITCHBOARD_CHROMIUM"); p != "" {
		_, err := os.Stat(p)
		RequireOrSkip(t, "chromium at $SWITCHBOARD_CHROMIUM="+p, err == nil)
		return p
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	RequireOrSkip(t, "chromium", false)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. There is
// a small window in which another process may take it; prefer handing a
// listener to in-process servers and use this only for outside processes.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitTCP polls until a TCP connection to addr succeeds, failing the test
// after timeout.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not accepting connections after %v: %v", addr, timeout, err)
}

// maxLoggedOutput bounds how much of a process's output goes to the test log.
const maxLoggedOutput = 64 << 10

// Process is an outside process started by StartProcess.
type Process struct {
	Cmd  *exec.Cmd
	name string
	out  *syncBuffer
	done chan struct{}
	err  error // valid after done is closed
}

// StartProcess starts name with args in its own process group, with stdout
// and stderr captured. The output is written to the test log if the test
// fails (or when running with -v). When the test ends the process group is
// killed by its PID (so children such as a browser die too) and reaped.
// Set Cmd fields such as Dir or Env through the optional configure funcs.
func StartProcess(t testing.TB, name string, args []string, configure ...func(*exec.Cmd)) *Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	for _, f := range configure {
		f(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Cmd: cmd, name: filepath.Base(name), out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) not reaped 10s after SIGKILL", p.name, cmd.Process.Pid)
		}
		if t.Failed() || testing.Verbose() {
			out := p.Output()
			if len(out) > maxLoggedOutput {
				out = "[…]" + out[len(out)-maxLoggedOutput:]
			}
			t.Logf("output of %s %s:\n%s", name, strings.Join(args, " "), out)
		}
	})
	return p
}

// kill sends SIGKILL to the process group led by the process's PID.
func (p *Process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	pid := p.Cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		_ = p.Cmd.Process.Kill()
	}
}

// Output returns everything the process printed so far (stdout and stderr).
func (p *Process) Output() string { return p.out.String() }

// Wait waits for the process to exit and returns its exit error. If ctx ends
// first the process group is killed and an error naming the timeout returned.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.kill()
		<-p.done
		return fmt.Errorf("%s killed: %w", p.name, ctx.Err())
	}
}

// WaitOutput polls until the process's output contains substr, failing the
// test if the process exits first or timeout passes.
func (p *Process) WaitOutput(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Output(), substr) {
			return
		}
		select {
		case <-p.done:
			if strings.Contains(p.Output(), substr) {
				return
			}
			t.Fatalf("%s exited (%v) before printing %q; output:\n%s", p.name, p.err, substr, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %v; output:\n%s", p.name, substr, timeout, p.Output())
		}
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// RunNode runs `node test/node/<script> args...` to completion within timeout
// and returns its output. The script runs with test/node as its working
// directory, so it resolves packages from test/node/node_modules. The test
// fails if the script exits non-zero or times out.
func RunNode(t testing.TB, timeout time.Duration, script string, args ...string) string {
	t.Helper()
	node := Node(t)
	NodeModules(t)
	dir := NodeDir(t)
	p := StartProcess(t, node, append([]string{filepath.Join(dir, script)}, args...), func(c *exec.Cmd) { c.Dir = dir })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("node %s: %v; output:\n%s", script, err, p.Output())
	}
	return p.Output()
}

// StartRedis starts a throwaway redis-server on a free loopback port (no
// persistence) and returns its address. Skips/fails if redis-server is
// missing.
func StartRedis(t testing.TB) string {
	t.Helper()
	bin := LookPath(t, "redis-server")
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	StartProcess(t, bin, []string{
		"--bind", "127.0.0.1", "--port", fmt.Sprint(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
	})
	WaitTCP(t, addr, 15*time.Second)
	return addr
}

// syncBuffer is a bytes.Buffer safe for the writers exec starts and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

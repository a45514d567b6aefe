package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestStartProcessKilledAtCleanup(t *testing.T) {
	sh := LookPath(t, "sh")
	var pid int
	t.Run("child", func(t *testing.T) {
		// The shell starts a grandchild; both must die with the group.
		p := StartProcess(t, sh, []string{"-c", "sleep 300 & echo ready; wait"})
		p.WaitOutput(t, "ready", 10*time.Second)
		pid = p.Cmd.Process.Pid
	})
	if pid == 0 {
		t.Fatal("subtest did not start the process")
	}
	// Cleanup reaped the leader; the group must be gone too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(-pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still alive after cleanup (kill 0: %v)", pid, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessWaitTimeout(t *testing.T) {
	sh := LookPath(t, "sh")
	p := StartProcess(t, sh, []string{"-c", "sleep 300"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want deadline exceeded", err)
	}
	if !p.Exited() {
		t.Fatal("process not exited after Wait timed out")
	}
}

func TestProcessExitStatus(t *testing.T) {
	sh := LookPath(t, "sh")
	p := StartProcess(t, sh, []string{"-c", "echo out; echo err >&2; exit 3"})
	err := p.Wait(context.Background())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	if got := p.Output(); got != "out\nerr\n" && got != "err\nout\n" {
		t.Fatalf("Output = %q", got)
	}
}

func TestFreePortAndWaitTCP(t *testing.T) {
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the free port: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	WaitTCP(t, addr, 5*time.Second)
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s has no go.mod: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testutil")); err != nil {
		t.Fatalf("RepoRoot %s is not this module's root: %v", root, err)
	}
}

func TestStartRedis(t *testing.T) {
	addr := StartRedis(t)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "+PONG\r\n" {
		t.Fatalf("PING answered %q, %v", buf[:n], err)
	}
}

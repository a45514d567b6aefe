package leakcheck

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func blockedForLeakTest(ch chan struct{}) { <-ch }

func TestLeakCheckReportsLeak(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	var out bytes.Buffer
	code := check(func() int {
		go blockedForLeakTest(stop)
		return 0
	}, 200*time.Millisecond, &out)
	if code != 1 {
		t.Fatalf("check = %d, want 1", code)
	}
	if !strings.Contains(out.String(), "blockedForLeakTest") {
		t.Fatalf("report does not name the leaked goroutine:\n%s", out.String())
	}
}

func TestLeakCheckWaitsForEndingGoroutines(t *testing.T) {
	var out bytes.Buffer
	code := check(func() int {
		go time.Sleep(100 * time.Millisecond)
		return 0
	}, 10*time.Second, &out)
	if code != 0 {
		t.Fatalf("check = %d, want 0; report:\n%s", code, out.String())
	}
}

func TestLeakCheckKeepsFailureCode(t *testing.T) {
	if code := check(func() int { return 3 }, time.Second, &bytes.Buffer{}); code != 3 {
		t.Fatalf("check = %d, want 3", code)
	}
}

func TestMain(m *testing.M) { os.Exit(Run(m)) }

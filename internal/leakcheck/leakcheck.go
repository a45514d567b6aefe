// Package leakcheck fails a test binary that leaves goroutines behind.
// Use it from TestMain: os.Exit(leakcheck.Run(m)).
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Run runs the tests, then waits up to 5 s for goroutines started by them
// to end. It reports the stacks of any that remain and returns a failing
// exit code for them.
func Run(m *testing.M) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	var leaked []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked = Leaked()
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) still running after the tests:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
		return 1
	}
	return 0
}

// Leaked returns the stacks of goroutines that are not part of the test
// framework or the runtime.
func Leaked() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if ignorable(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

func ignorable(stack string) bool {
	for _, s := range []string{
		"testing.(*M).",
		"testing.tRunner",
		"testing.runFuzzTests",
		"testing.runFuzzing",
		"leakcheck.Leaked",
		"runtime.goexit0",
		"created by runtime.gc",
		"runtime.MHeap_Scavenger",
		"signal.signal_recv",
		"sigterm.handler",
		"runtime_mcall",
		"(*loggingT).flushDaemon",
		"goroutine in C code",
		"runtime.ensureSigM",
		"os/signal.loop",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return strings.TrimSpace(stack) == ""
}

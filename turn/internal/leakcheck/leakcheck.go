// Package leakcheck fails a test binary whose goroutines outlive its
// tests: every goroutine a server starts must stop by Shutdown. It is a
// small stand-in for go.uber.org/goleak.
package leakcheck

import (
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Main runs the tests, then waits up to 10 s for goroutines started during
// them to end, and exits non-zero listing any that did not.
func Main(m *testing.M) {
	before := goroutines()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(10 * time.Second)
		var leaked []string
		for {
			leaked = diff(before, goroutines())
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(leaked) > 0 {
			os.Stderr.WriteString("leaked goroutines:\n" + strings.Join(leaked, "\n\n") + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines returns the stacks of live goroutines, keyed by their top
// function, ignoring the runtime's and the test framework's own.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		if len(lines) < 2 {
			continue
		}
		top := strings.TrimSpace(lines[1])
		if strings.HasPrefix(top, "testing.") || strings.Contains(g, "testing.(*M).") ||
			strings.Contains(g, "runtime.goexit") && len(lines) <= 3 ||
			strings.Contains(g, "os/signal.") || strings.Contains(g, "runtime.ensureSigM") ||
			strings.HasPrefix(lines[0], "goroutine 1 ") {
			continue
		}
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

func diff(before, after []string) []string {
	seen := make(map[string]int)
	for _, g := range before {
		seen[key(g)]++
	}
	var out []string
	for _, g := range after {
		if seen[key(g)] > 0 {
			seen[key(g)]--
			continue
		}
		out = append(out, g)
	}
	return out
}

// key drops the goroutine header (its id and state) and argument values.
func key(g string) string {
	lines := strings.Split(g, "\n")
	var fns []string
	for i := 1; i < len(lines); i += 2 {
		f := lines[i]
		if j := strings.LastIndex(f, "("); j > 0 {
			f = f[:j]
		}
		fns = append(fns, f)
	}
	return strings.Join(fns, "|")
}

// Package leakcheck fails a test binary that leaves goroutines behind. Use
// it as the whole TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }
//
// Each goroutine alive after the tests that was not alive before them must
// end within 10 s. Goroutines the standard library parks for its own reuse
// (net/http's idle keep-alive connections of http.DefaultTransport) are not
// counted; close them with CloseIdleConnections if a test must prove they
// end.
package leakcheck

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Run runs the tests, then waits for the goroutines they started, and
// returns the exit code: the tests' own failure code, 1 for a leak (with the
// leaked stacks on standard error), or 0.
func Run(m *testing.M) int {
	return check(m.Run, 10*time.Second, os.Stderr)
}

// check is Run with its inputs explicit, for its own tests.
func check(run func() int, grace time.Duration, w io.Writer) int {
	before := map[string]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	code := run()
	if code != 0 {
		return code // the failure is already reported
	}
	deadline := time.Now().Add(grace)
	for {
		leaked := leakedSince(before)
		if len(leaked) == 0 {
			return code
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(w, "goroutine leak: %d goroutine(s) started by the tests still running %v after they ended:\n\n", len(leaked), grace)
			for _, g := range leaked {
				fmt.Fprintf(w, "%s\n\n", g.stack)
			}
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type goroutine struct {
	id    string // "goroutine 17"
	stack string
}

// goroutines returns every goroutine but the caller's, from runtime.Stack.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for i, block := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the calling goroutine is listed first
		}
		head, _, _ := strings.Cut(block, " [")
		out = append(out, goroutine{id: head, stack: block})
	}
	return out
}

// benign marks goroutines the runtime or standard library keeps around on
// purpose.
var benign = []string{
	"testing.(*M).",
	"testing.tRunner.func1", // a parallel test's parent waiting
	"runtime.goexit0",
	"os/signal.signal_recv",
	"os/signal.loop",
	"net/http.(*persistConn).readLoop",
	"net/http.(*persistConn).writeLoop",
}

func leakedSince(before map[string]bool) []goroutine {
	var leaked []goroutine
	for _, g := range goroutines() {
		if before[g.id] {
			continue
		}
		ok := false
		for _, b := range benign {
			if strings.Contains(g.stack, b) {
				ok = true
				break
			}
		}
		if !ok {
			leaked = append(leaked, g)
		}
	}
	return leaked
}

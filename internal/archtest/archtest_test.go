// Package archtest checks that imports point downward through the layers
// docs/design.md describes: wire codecs at the bottom (standard library
// only, no I/O), engines above them, application semantics above those,
// wiring on top. It reads the module's import graph with `go list`.
package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/switchboard/switchboard/"

// layer ranks the module's non-test packages. A package may import module
// packages of a lower rank only. A package missing here fails the test:
// place it when adding it (and update docs/design.md).
var layer = map[string]int{
	// Wire codecs: pure functions over bytes.
	"websocket/frame":    0,
	"stun":               0,
	"engineio/packet":    0,
	"socketio/packet":    0,
	"signaling/message":  0,
	"adapter/redis/wire": 0,
	// Small helpers below the engines.
	"internal/bufpool":         1,
	"websocket/internal/uring": 1,
	"turn/internal/udpio":      1,
	"internal/tlsreload":       1,
	"auth":                     1, // JWT verification; reads only its key file
	"internal/limit":           1,
	"internal/origin":          1,
	// Engines: own connections and their lifecycles.
	"websocket": 2,
	"turn":      2,
	"engineio":  3, // runs its WebSocket transport on the websocket engine
	// Application semantics.
	"socketio":  4,
	"signaling": 4,
	"peerjs":    4,
	"web":       4,
	// The binary's Socket.IO service.
	"internal/sioservice": 5,
	// Wiring.
	"adapter/redis":   6,
	"cmd/switchboard": 7,
}

// testOnly packages may be imported by tests only.
var testOnly = map[string]bool{"internal/leakcheck": true, "internal/testutil": true}

// codecDenied are standard packages a wire codec must not import: codecs do
// no I/O and no logging.
var codecDenied = []string{"net", "net/http", "os", "log", "log/slog", "syscall", "io/fs"}

type pkg struct {
	ImportPath string
	Imports    []string
	GoFiles    []string
}

func modulePackages(t *testing.T) []pkg {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "list", "-e", "-json", "./...")
	cmd.Dir = root
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// outside reports whether rel (a path relative to the module) is a test
// harness or a benchmark: a main package nothing may import.
func outside(rel string) bool {
	return strings.HasPrefix(rel, "test/") || strings.HasPrefix(rel, "bench/")
}

func TestLayers(t *testing.T) {
	for _, p := range modulePackages(t) {
		rel, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok {
			continue
		}
		if outside(rel) || testOnly[rel] || len(p.GoFiles) == 0 {
			continue
		}
		rank, ok := layer[rel]
		if !ok {
			t.Errorf("%s: not in the layer table of internal/archtest (and docs/design.md)", rel)
			continue
		}
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			switch {
			case ours && (outside(dep) || strings.HasPrefix(dep, "cmd/")):
				t.Errorf("%s imports %s: nothing imports a command, test harness or benchmark", rel, dep)
			case ours && testOnly[dep]:
				t.Errorf("%s imports %s, which only tests may import", rel, dep)
			case ours:
				if r, known := layer[dep]; known && r >= rank {
					t.Errorf("%s (layer %d) imports %s (layer %d): imports must point downward", rel, rank, dep, r)
				}
			case rank == 0 && strings.Contains(strings.Split(imp, "/")[0], "."):
				t.Errorf("%s is a wire codec and imports %s: codecs use the standard library only", rel, imp)
			case rank == 0:
				for _, d := range codecDenied {
					if imp == d {
						t.Errorf("%s is a wire codec and imports %s: codecs do no I/O or logging", rel, imp)
					}
				}
			}
			if strings.HasPrefix(imp, "github.com/redis/") && rel != "adapter/redis" && rel != "cmd/switchboard" {
				t.Errorf("%s imports %s: only adapter/redis (and the binary's wiring) talk to Redis", rel, imp)
			}
		}
	}
}

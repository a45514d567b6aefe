package signaling

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/leakcheck"
)

// TestMain fails the package if goroutines started by the tests outlive them.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

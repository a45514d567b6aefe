package turninterop

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/leakcheck"
)

// TestMain fails the package if the server's goroutines outlive the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

package turn

import (
	"testing"

	"github.com/switchboard/switchboard/turn/internal/leakcheck"
)

// TestMain fails the package if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }

package testutil

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/leakcheck"
)

// LeakCheckMain runs the package's tests under internal/leakcheck and exits
// with its code. Use it as the whole TestMain:
//
//	func TestMain(m *testing.M) { testutil.LeakCheckMain(m) }
func LeakCheckMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

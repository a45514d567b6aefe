package packet

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

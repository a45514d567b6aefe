package testutil

import "testing"

// The package's own TestMain, so its process helpers are checked too.
func TestMain(m *testing.M) { LeakCheckMain(m) }

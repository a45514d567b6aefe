//go:build race

package stun

// The race detector instruments allocations, so allocation budgets are only
// asserted without it.
const raceEnabled = true

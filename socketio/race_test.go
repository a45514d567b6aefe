//go:build race

package socketio

const raceEnabled = true

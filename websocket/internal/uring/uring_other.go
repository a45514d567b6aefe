//go:build !linux || !(amd64 || arm64)

// Package uring is the smallest io_uring the WebSocket event loop needs; on
// this platform it is unavailable and the loop writes with plain system calls.
package uring

import "errors"

// ErrUnavailable means io_uring cannot be used here.
var ErrUnavailable = errors.New("uring: io_uring unavailable")

// Ring is never created on this platform.
type Ring struct{}

// New always fails here.
func New(uint32) (*Ring, error) { return nil, ErrUnavailable }

// Space is 0.
func (r *Ring) Space() int { return 0 }

// PrepSend always reports false.
func (r *Ring) PrepSend(int, []byte, uint64) bool { return false }

// Submit does nothing.
func (r *Ring) Submit(func(uint64, int32)) error { return nil }

// Close does nothing.
func (r *Ring) Close() error { return nil }

//go:build !linux

package websocket

import (
	"errors"
	"net"
	"net/http"
)

// Without epoll every connection uses the goroutine driver (gomode.go):
// startLoops returns no loops, and no loop method is ever reached.

var errTooManyFiles = errors.New("too many open files")

type hsState struct{}

type loop struct{}

func startLoops(*Server, int) []*loop { return nil }

func takeFD(*net.TCPConn) (int, error) { return -1, errors.ErrUnsupported }

func (l *loop) post(func())                                       {}
func (l *loop) schedule(*Conn)                                    {}
func (l *loop) urgent(*Conn) bool                                 { return false }
func (l *loop) abort(*Conn)                                       {}
func (l *loop) adopt(*Conn, int, []byte)                          {}
func (l *loop) adoptHTTP(*Conn, int, http.Handler, *chanListener) {}
func (l *loop) handshakeDone(*Conn, *loopRW)                      {}
func (l *loop) closeAll(StatusCode, string)                       {}
func (l *loop) stop()                                             {}

//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package turn

import (
	"io"
	"net"
	"syscall"

	"github.com/switchboard/switchboard/turn/internal/udpio"
	"golang.org/x/sys/unix"
)

// Raw socket helpers for plain TCP clients (see stream.go).

// rawReader reads a plain TCP connection with raw read(2) calls inside
// RawConn.Read, parking in the runtime poller on EAGAIN: net.Conn.Read
// would enter a blocking-capable system call, which wakes sysmon.
type rawReader struct {
	rc  syscall.RawConn
	buf []byte
	n   int
	err error
	fn  func(uintptr) bool
}

func newRawReader(nc net.Conn) *rawReader {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc}
	r.fn = r.read
	return r
}

func (r *rawReader) read(fd uintptr) bool {
	n, err := udpio.Read(int(fd), r.buf)
	if err == unix.EAGAIN {
		return false
	}
	r.n, r.err = n, err
	return true
}

// Read reads into b like net.Conn.Read.
func (r *rawReader) Read(b []byte) (int, error) {
	r.buf = b
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	r.buf = nil
	if r.err != nil {
		return 0, r.err
	}
	if r.n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return r.n, nil
}

// rawFd returns the descriptor of a *net.TCPConn for direct writes, or -1.
func rawFd(nc net.Conn) int {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return -1
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil {
		return -1
	}
	return fd
}

// writeNonblock writes b to a non-blocking socket once.
func writeNonblock(fd int, b []byte) (int, error) {
	for {
		n, err := udpio.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func isAgain(err error) bool { return err == unix.EAGAIN }

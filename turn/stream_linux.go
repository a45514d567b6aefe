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
//
// The messages are handled inside the RawConn.Read callback too, and after
// a read that did not fill the buffer the callback parks at once instead
// of reading again: the kernel handed over everything it had, and data
// arriving later marks the descriptor ready in the runtime poller, which
// the wait then sees. Returning from RawConn.Read after every read would
// throw that readiness away (each call starts by resetting it), so each
// wake-up would cost a second read that only says EAGAIN. Because the
// callback holds the descriptor, nothing called from a handler may close
// the connection (Close waits for the callback to return): see abort.
type rawReader struct {
	rc   syscall.RawConn
	f    *frameBuf
	feed func(*frameBuf) bool
	err  error
	fn   func(uintptr) bool
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
	r.fn = r.step
	return r
}

// run reads into f and calls feed after every read. It returns nil when
// feed returns false or after a read that filled the buffer (more may be
// waiting: the caller calls run again, which also checks for Close and the
// deadline), io.EOF at the end of the stream, or the read's error, a read
// deadline's included.
func (r *rawReader) run(f *frameBuf, feed func(*frameBuf) bool) error {
	r.f, r.feed, r.err = f, feed, nil
	err := r.rc.Read(r.fn)
	r.f, r.feed = nil, nil
	if err != nil {
		return err
	}
	return r.err
}

// step is the RawConn.Read callback: true ends run, false parks until the
// socket is readable (or closed, or the deadline passes) and calls step
// again.
func (r *rawReader) step(fd uintptr) bool {
	b := r.f.space()
	n, err := udpio.Read(int(fd), b)
	if err == unix.EAGAIN {
		return false
	}
	if err != nil {
		r.err = err
		return true
	}
	if n == 0 {
		r.err = io.EOF
		return true
	}
	r.f.have += n
	// A short read took all the kernel had: park. After a full one,
	// return rather than read on here, so that a client that never stops
	// sending cannot keep the reader inside the callback, which Close
	// waits for.
	return !r.feed(r.f) || n == len(b)
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

// shutdownFd shuts a socket down in both directions without closing it:
// its reader wakes and sees the end of the stream.
func shutdownFd(fd int) { unix.Shutdown(fd, unix.SHUT_RDWR) }

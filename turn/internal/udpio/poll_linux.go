//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package udpio

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Poller is a level-triggered epoll instance plus an eventfd to wake its
// waiter. Add, Del and Wake may be called from any goroutine; Wait from one.
type Poller struct {
	ep   int
	wake int
	evs  []unix.EpollEvent
}

// WakeToken is the token Wait reports when Wake was called.
const WakeToken = ^uint64(0)

// NewPoller creates a poller reporting up to maxEvents per Wait.
func NewPoller(maxEvents int) (*Poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("udpio: epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("udpio: eventfd: %w", err)
	}
	p := &Poller{ep: ep, wake: wake, evs: make([]unix.EpollEvent, maxEvents)}
	if err := p.Add(wake, WakeToken); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Add registers fd for readability, reported as token.
func (p *Poller) Add(fd int, token uint64) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	putToken(&ev, token)
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("udpio: epoll_ctl add: %w", err)
	}
	return nil
}

// Del unregisters fd.
func (p *Poller) Del(fd int) error {
	return unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, nil)
}

// Wake makes a blocked Wait return WakeToken.
func (p *Poller) Wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wake, one[:])
}

// Wait blocks up to msec milliseconds (-1: forever) and calls f with the
// token of each ready descriptor. A wake-up is drained before f sees it.
func (p *Poller) Wait(msec int, f func(token uint64)) error {
	n, err := unix.EpollWait(p.ep, p.evs, msec)
	if err == unix.EINTR {
		return nil
	}
	if err != nil {
		return fmt.Errorf("udpio: epoll_wait: %w", err)
	}
	for i := 0; i < n; i++ {
		t := token(&p.evs[i])
		if t == WakeToken {
			var buf [8]byte
			unix.Read(p.wake, buf[:])
		}
		f(t)
	}
	return nil
}

// Close releases the epoll and eventfd descriptors.
func (p *Poller) Close() error {
	unix.Close(p.wake)
	return unix.Close(p.ep)
}

// The 64-bit token lives in the 8 bytes after Events (Fd and Pad).
func putToken(ev *unix.EpollEvent, t uint64) {
	ev.Fd = int32(uint32(t))
	ev.Pad = int32(uint32(t >> 32))
}

func token(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || mips64 || mips64le || s390x)

package udpio

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Poller is a level-triggered epoll instance plus an eventfd to wake its
// waiter. Add, Del and Wake may be called from any goroutine; Wait from
// one at a time.
//
// Wait does not block in epoll_wait: the epoll descriptor is itself
// registered with the Go runtime's poller, and Wait parks the goroutine
// there until it is readable, then collects events with a zero timeout. A
// goroutine blocked in a system call would have its P taken by sysmon,
// which then wakes every 20 µs while packets flow; measured, that cost
// more CPU than the relaying itself.
type Poller struct {
	ep   int
	wake int
	f    *os.File
	rc   syscall.RawConn
	evs  []unix.EpollEvent

	readFn func(uintptr) bool
	runFn  func(uintptr) bool
	cb     func(uint64)
	round  func() (stop, more bool)
	err    error
	// parkEarly: the kernel wakes the runtime's poller for every new
	// event, also one that arrives while epoll_wait is handing events
	// over (see Run).
	parkEarly bool
}

// WakeToken is the token Wait reports when Wake was called.
const WakeToken = ^uint64(0)

// NewPoller creates a poller reporting up to maxEvents per round.
func NewPoller(maxEvents int) (*Poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("udpio: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("udpio: epoll nonblock: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("udpio: eventfd: %w", err)
	}
	p := &Poller{ep: ep, wake: wake, evs: make([]unix.EpollEvent, maxEvents)}
	p.f = os.NewFile(uintptr(ep), "epoll") // pollable: the runtime registers it
	if p.rc, err = p.f.SyscallConn(); err != nil {
		p.Close()
		return nil, err
	}
	p.readFn = p.collect
	p.runFn = p.runStep
	p.parkEarly = kernelAtLeast(5, 7)
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

// Wake makes a parked Wait return with WakeToken.
func (p *Poller) Wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wake, one[:])
}

// Wait parks until at least one registered descriptor is ready and calls f
// with the token of each ready one. A wake-up is drained before f sees it.
func (p *Poller) Wait(f func(token uint64)) error {
	p.cb = f
	p.err = nil
	if err := p.rc.Read(p.readFn); err != nil {
		return fmt.Errorf("udpio: poller: %w", err)
	}
	return p.err
}

// collect is the RawConn.Read callback: epoll_wait without blocking; false
// (nothing ready) parks the goroutine in the runtime's poller.
func (p *Poller) collect(fd uintptr) bool {
	// A zero timeout never blocks, so a raw system call (see mmsg).
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&p.evs[0])), uintptr(len(p.evs)), 0, 0, 0)
	n := int(r)
	if e == unix.EINTR || (e == 0 && n == 0) {
		return false
	}
	if e != 0 {
		p.err = fmt.Errorf("udpio: epoll_wait: %w", e)
		return true
	}
	for i := 0; i < n; i++ {
		t := token(&p.evs[i])
		if t == WakeToken {
			var buf [8]byte
			unix.Read(p.wake, buf[:])
		}
		p.cb(t)
	}
	return true
}

// Run is Wait in a loop that does not return between rounds: it calls f
// with the token of each ready descriptor, then round; it returns when
// round reports stop, or on an error. round also reports whether a
// handler left data unread (more): descriptors are level-triggered, so
// such data is reported again by the next epoll_wait, which Run then
// issues at once.
//
// Run saves Wait's empty epoll_wait per wake-up. Wait leaves
// RawConn.Read after every round, and RawConn.Read starts by resetting the
// descriptor's readiness, so Wait must then ask epoll_wait again, usually
// to hear that nothing is ready. Run parks straight after a round in which
// epoll_wait returned fewer events than it could and nothing was left
// unread: any event since then has woken the runtime's poller, which
// the park sees. That holds on Linux 5.7 and later; before it
// (eventpoll: fix missing wakeup for ovflist in ep_poll_callback), an
// event arriving while epoll_wait was handing events over woke only
// epoll_wait's own sleepers, so on older kernels Run asks again like
// Wait.
func (p *Poller) Run(f func(token uint64), round func() (stop, more bool)) error {
	p.cb, p.round = f, round
	p.err = nil
	if err := p.rc.Read(p.runFn); err != nil {
		return fmt.Errorf("udpio: poller: %w", err)
	}
	return p.err
}

// runStep is Run's RawConn.Read callback: false parks until the epoll
// descriptor is readable, true returns from Run.
func (p *Poller) runStep(fd uintptr) bool {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&p.evs[0])), uintptr(len(p.evs)), 0, 0, 0)
		n := int(r)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			p.err = fmt.Errorf("udpio: epoll_wait: %w", e)
			return true
		}
		if n == 0 {
			return false
		}
		for i := 0; i < n; i++ {
			t := token(&p.evs[i])
			if t == WakeToken {
				var buf [8]byte
				unix.Read(p.wake, buf[:])
			}
			p.cb(t)
		}
		stop, more := p.round()
		if stop {
			return true
		}
		if p.parkEarly && !more && n < len(p.evs) {
			return false
		}
	}
}

// kernelAtLeast reports whether the running kernel's version is at least
// major.minor (false when it cannot tell).
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return releaseAtLeast(unix.ByteSliceToString(u.Release[:]), major, minor)
}

// releaseAtLeast compares a kernel release string ("6.1.0-18-amd64") with
// major.minor.
func releaseAtLeast(rel string, major, minor int) bool {
	var v [2]int
	i, digits := 0, 0
	for _, c := range rel {
		if c >= '0' && c <= '9' {
			v[i] = v[i]*10 + int(c-'0')
			digits++
			continue
		}
		if c != '.' || i == 1 || digits == 0 {
			break
		}
		i, digits = 1, 0
	}
	if i == 0 || digits == 0 {
		return false
	}
	return v[0] > major || v[0] == major && v[1] >= minor
}

// Close releases the epoll and eventfd descriptors.
func (p *Poller) Close() error {
	unix.Close(p.wake)
	if p.f != nil {
		return p.f.Close()
	}
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

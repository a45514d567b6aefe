//go:build linux && (amd64 || arm64)

// Package uring is the smallest io_uring the WebSocket event loop needs: a
// ring per loop on which a flush pass queues one non-blocking send per
// connection and submits them all with one io_uring_enter, instead of one
// write system call each. Only IORING_OP_SEND with MSG_DONTWAIT is used, so
// every request completes during the submitting call (sent, partly sent, or
// -EAGAIN) and no buffer outlives it.
package uring

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

const (
	sysSetup = 425
	sysEnter = 426

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	opSend = 26 // IORING_OP_SEND

	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

	setupSubmitAll = 1 << 7 // IORING_SETUP_SUBMIT_ALL: one failing SQE does not stop the rest

	featSingleMmap = 1 << 0

	msgDontwait = 0x40
	msgNosignal = 0x4000
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	pad2        uint64
}

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring is one io_uring. It is not safe for concurrent use: one event loop
// owns it.
type Ring struct {
	fd             int
	sqMem, cqMem   []byte
	sqesMem        []byte
	sqHead, sqTail *uint32
	sqMask         uint32
	sqEntries      uint32
	sqArray        []uint32
	sqes           []sqe
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []cqe
	pending        uint32 // prepared, not yet submitted
	sqeTail        uint32 // our copy of the SQ tail
}

// ErrUnavailable means the kernel refused io_uring (disabled, seccomp, old).
var ErrUnavailable = errors.New("uring: io_uring unavailable")

// New creates a ring with at least entries submission slots.
func New(entries uint32) (*Ring, error) {
	var p params
	p.flags = setupSubmitAll
	fd, _, errno := syscall.Syscall(sysSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno == syscall.EINVAL {
		p = params{}
		fd, _, errno = syscall.Syscall(sysSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, errors.Join(ErrUnavailable, os.NewSyscallError("io_uring_setup", errno))
	}
	r := &Ring{fd: int(fd)}
	if p.features&featSingleMmap == 0 {
		r.Close()
		return nil, errors.Join(ErrUnavailable, errors.New("uring: kernel lacks IORING_FEAT_SINGLE_MMAP"))
	}
	sqSize := p.sqOff.array + p.sqEntries*4
	cqSize := p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(cqe{}))
	size := max(sqSize, cqSize)
	mem, err := syscall.Mmap(r.fd, offSQRing, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		r.Close()
		return nil, os.NewSyscallError("mmap", err)
	}
	r.sqMem, r.cqMem = mem, mem
	sqes, err := syscall.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		r.Close()
		return nil, os.NewSyscallError("mmap", err)
	}
	r.sqesMem = sqes
	base := unsafe.Pointer(&mem[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqEntries = *(*uint32)(unsafe.Add(base, p.sqOff.ringEntries))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	r.sqeTail = atomic.LoadUint32(r.sqTail)
	return r, nil
}

// Space is how many more sends can be prepared before Submit.
func (r *Ring) Space() int {
	return int(r.sqEntries - (r.sqeTail - atomic.LoadUint32(r.sqHead)))
}

// PrepSend queues a non-blocking send of b on fd. b must stay untouched
// until Submit returns. It reports false when the ring is full.
func (r *Ring) PrepSend(fd int, b []byte, userData uint64) bool {
	if r.Space() == 0 || len(b) == 0 {
		return false
	}
	idx := r.sqeTail & r.sqMask
	r.sqes[idx] = sqe{
		opcode:   opSend,
		fd:       int32(fd),
		addr:     uint64(uintptr(unsafe.Pointer(&b[0]))),
		len:      uint32(min(len(b), 1<<30)),
		opFlags:  msgDontwait | msgNosignal,
		userData: userData,
	}
	r.sqArray[idx] = idx
	r.sqeTail++
	r.pending++
	return true
}

// Submit submits every prepared send, waits until each has completed, and
// calls f with each completion's user data and result (bytes sent or a
// negative errno). Buffers given to PrepSend are free again when it returns.
func (r *Ring) Submit(f func(userData uint64, res int32)) error {
	n := r.pending
	if n == 0 {
		return nil
	}
	atomic.StoreUint32(r.sqTail, r.sqeTail)
	r.pending = 0
	done := uint32(0)
	toSubmit := n
	for done < n {
		r1, _, errno := syscall.Syscall6(sysEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(n-done), enterGetEvents, 0, 0)
		if errno != 0 && errno != syscall.EINTR && errno != syscall.EAGAIN && errno != syscall.EBUSY {
			return os.NewSyscallError("io_uring_enter", errno)
		}
		if errno == 0 {
			// r1 entries were consumed (all of them under
			// IORING_SETUP_SUBMIT_ALL); after an error none were, and
			// the next call submits them again.
			toSubmit -= min(uint32(r1), toSubmit)
		}
		done += r.reap(f)
	}
	return nil
}

func (r *Ring) reap(f func(uint64, int32)) uint32 {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := uint32(0)
	for ; head != tail; head++ {
		c := &r.cqes[head&r.cqMask]
		f(c.userData, c.res)
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// Close releases the ring.
func (r *Ring) Close() error {
	if r.sqesMem != nil {
		_ = syscall.Munmap(r.sqesMem)
	}
	if r.sqMem != nil {
		_ = syscall.Munmap(r.sqMem)
	}
	return syscall.Close(r.fd)
}

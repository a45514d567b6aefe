// Package bufpool pools byte slices by power-of-two size class, so that
// connections can borrow buffers while they have bytes in flight and hold
// none while idle.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 9  // 512 B
	maxShift = 22 // 4 MiB; larger buffers are left to the GC
)

// Pool is a set of size-class pools. The zero value is ready to use.
type Pool struct {
	classes [maxShift - minShift + 1]sync.Pool
}

func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a slice of length 0 and capacity at least n.
func (p *Pool) Get(n int) []byte {
	c := class(n)
	if c >= len(p.classes) {
		return make([]byte, 0, n)
	}
	if v := p.classes[c].Get(); v != nil {
		b := v.(*[]byte)
		return (*b)[:0]
	}
	return make([]byte, 0, 1<<(c+minShift))
}

// Put returns b to the pool. b must not be used afterwards.
func (p *Pool) Put(b []byte) {
	c := cap(b)
	if c < 1<<minShift || c > 1<<maxShift || c&(c-1) != 0 {
		return // not one of ours
	}
	b = b[:0]
	p.classes[class(c)].Put(&b)
}

// Grow returns b with room for n more bytes, moving it to a larger pooled
// buffer (and returning the old one) when needed.
func (p *Pool) Grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := p.Get(len(b) + n)
	nb = append(nb, b...)
	p.Put(b)
	return nb
}

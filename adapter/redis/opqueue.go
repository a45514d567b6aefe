package redisadapter

import "sync"

// opQueue is the bounded queue of a runner goroutine (signaling rooms,
// PeerJS). Once closed it refuses new operations, and close returns those
// still queued, so that none is left without an answer.
type opQueue[T any] struct {
	mu     sync.RWMutex // held for reading by push, for writing by close
	closed bool
	ch     chan T
}

func newOpQueue[T any](n int) *opQueue[T] { return &opQueue[T]{ch: make(chan T, n)} }

// push queues op without waiting; false when full or closed.
func (q *opQueue[T]) push(op T) bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return false
	}
	select {
	case q.ch <- op:
		return true
	default:
		return false
	}
}

// next appends to batch the operations waiting, up to max; it waits for
// the first one until done is closed, and then reports false.
func (q *opQueue[T]) next(batch []T, max int, done <-chan struct{}) ([]T, bool) {
	select {
	case op := <-q.ch:
		batch = append(batch, op)
	case <-done:
		return batch, false
	}
	for len(batch) < max {
		select {
		case op := <-q.ch:
			batch = append(batch, op)
		default:
			return batch, true
		}
	}
	return batch, true
}

// close refuses further pushes and returns what is still queued.
func (q *opQueue[T]) close() []T {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	var left []T
	for {
		select {
		case op := <-q.ch:
			left = append(left, op)
		default:
			return left
		}
	}
}

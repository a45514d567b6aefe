package redisadapter

import (
	"slices"
	"testing"
)

func TestOpQueue(t *testing.T) {
	q := newOpQueue[int](3)
	for i := range 4 {
		if got := q.push(i); got != (i < 3) {
			t.Fatalf("push(%d) = %v with capacity 3", i, got)
		}
	}
	done := make(chan struct{})
	batch, ok := q.next(nil, 2, done)
	if !ok || !slices.Equal(batch, []int{0, 1}) {
		t.Fatalf("next = %v, %v", batch, ok)
	}
	q.push(5)
	close(done)
	if left := q.close(); !slices.Equal(left, []int{2, 5}) {
		t.Fatalf("close left %v", left)
	}
	if q.push(6) {
		t.Fatal("push after close")
	}
	if batch, ok := q.next(nil, 2, done); ok || len(batch) != 0 {
		t.Fatalf("next after close = %v, %v", batch, ok)
	}
}

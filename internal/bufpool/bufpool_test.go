package bufpool

import "testing"

func TestGetPutClasses(t *testing.T) {
	var p Pool
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 70000, 1 << 22, 1<<22 + 1} {
		b := p.Get(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
		}
		p.Put(b)
	}
}

func TestGrowKeepsBytes(t *testing.T) {
	var p Pool
	b := append(p.Get(10), "hello"...)
	b = p.Grow(b, 5000)
	if string(b) != "hello" || cap(b)-len(b) < 5000 {
		t.Fatalf("Grow: %q cap %d", b, cap(b))
	}
}

func TestForeignBufferIgnored(t *testing.T) {
	var p Pool
	p.Put(make([]byte, 0, 1000)) // not a power of two: must not be pooled
	if b := p.Get(1000); cap(b) != 1024 {
		t.Fatalf("got cap %d, want 1024", cap(b))
	}
}

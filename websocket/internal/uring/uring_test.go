package uring

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
)

// TestSendMany sends on many sockets with one submission and checks every
// byte arrives, and that a full socket yields -EAGAIN instead of blocking.
func TestSendMany(t *testing.T) {
	r, err := New(64)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const n = 40
	var clients []net.Conn
	var fds []int
	var files []interface{ Close() error }
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		f, _ := s.(*net.TCPConn).File()
		s.Close()
		files = append(files, f)
		fds = append(fds, int(f.Fd()))
		_ = syscall.SetNonblock(int(f.Fd()), true)
	}
	defer func() {
		for i := range clients {
			clients[i].Close()
			files[i].Close()
		}
	}()
	msg := []byte("hello, ring")
	for i, fd := range fds {
		if !r.PrepSend(fd, msg, uint64(i)) {
			t.Fatal("ring full")
		}
	}
	seen := map[uint64]int32{}
	if err := r.Submit(func(u uint64, res int32) { seen[u] = res }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d completions, want %d", len(seen), n)
	}
	for i, c := range clients {
		if seen[uint64(i)] != int32(len(msg)) {
			t.Fatalf("send %d: res %d", i, seen[uint64(i)])
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("client %d got %q %v", i, got, err)
		}
	}
	// Fill one socket: the send must complete with -EAGAIN, not block.
	big := make([]byte, 64<<20)
	var res int32
	for i := 0; i < 10 && res != -int32(syscall.EAGAIN); i++ {
		r.PrepSend(fds[0], big, 7)
		if err := r.Submit(func(_ uint64, rr int32) { res = rr }); err != nil {
			t.Fatal(err)
		}
	}
	if res != -int32(syscall.EAGAIN) {
		t.Fatalf("full socket: res %d, want -EAGAIN", res)
	}
}

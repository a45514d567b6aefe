package socketio

import (
	"context"
	"slices"
	"testing"
)

func TestMemoryAdapterRooms(t *testing.T) {
	srv := newServer(t, Config{})
	a := srv.Of("/").Adapter().(*MemoryAdapter)
	a.AddAll("s1", []string{"s1"})
	a.AddAll("s2", []string{"s2", "r", "q"})
	a.AddAll("s3", []string{"s3", "r", "r"})

	sorted := func(v []string) []string { slices.Sort(v); return v }
	tests := []struct {
		opts BroadcastOptions
		want []string
	}{
		{BroadcastOptions{}, []string{"s1", "s2", "s3"}},
		{BroadcastOptions{Rooms: []string{"r"}}, []string{"s2", "s3"}},
		{BroadcastOptions{Rooms: []string{"s1"}}, []string{"s1"}},
		{BroadcastOptions{Rooms: []string{"r", "q", "s2"}}, []string{"s2", "s3"}},
		{BroadcastOptions{Rooms: []string{"r"}, Except: []string{"s2"}}, []string{"s3"}},
		{BroadcastOptions{Except: []string{"q"}}, []string{"s1", "s3"}},
		{BroadcastOptions{Rooms: []string{"nobody"}}, nil},
		{BroadcastOptions{Rooms: []string{"s1"}, Except: []string{"s1"}}, nil},
	}
	for _, tt := range tests {
		if got := sorted(a.Sockets(tt.opts)); !slices.Equal(got, tt.want) {
			t.Errorf("Sockets(%+v) = %v, want %v", tt.opts, got, tt.want)
		}
		if n, err := a.CountSockets(context.Background(), tt.opts); n != len(tt.want) || err != nil {
			t.Errorf("CountSockets(%+v) = %d, %v; want %d", tt.opts, n, err, len(tt.want))
		}
	}
	if got := a.SocketRooms("s2"); !slices.Equal(got, []string{"q", "r", "s2"}) {
		t.Errorf("SocketRooms(s2) = %v", got)
	}
	if a.RoomSize("r") != 2 || a.RoomSize("s1") != 1 || a.RoomSize("x") != 0 {
		t.Errorf("RoomSize r=%d s1=%d x=%d", a.RoomSize("r"), a.RoomSize("s1"), a.RoomSize("x"))
	}
	a.Del("s2", "r")
	a.Del("s2", "s2") // the own room cannot be left
	if got := a.SocketRooms("s2"); !slices.Equal(got, []string{"q", "s2"}) {
		t.Errorf("after Del: %v", got)
	}
	a.DelAll("s3")
	if a.RoomSize("r") != 0 || a.SocketRooms("s3") != nil {
		t.Errorf("after DelAll: r=%d rooms=%v", a.RoomSize("r"), a.SocketRooms("s3"))
	}
	if _, ok := a.rooms["r"]; ok {
		t.Error("empty room kept")
	}
}

func TestRecoveryIncludes(t *testing.T) {
	tests := []struct {
		session, rooms, except []string
		want                   bool
	}{
		{[]string{"a", "x"}, nil, nil, true},
		{[]string{"a", "x"}, []string{"x"}, nil, true},
		{[]string{"a", "x"}, []string{"y"}, nil, false},
		{[]string{"a", "x"}, nil, []string{"x"}, false},
		{[]string{"a", "x"}, []string{"a"}, []string{"x"}, false},
	}
	for _, tt := range tests {
		if got := includes(tt.session, tt.rooms, tt.except); got != tt.want {
			t.Errorf("includes(%v, %v, %v) = %v", tt.session, tt.rooms, tt.except, got)
		}
	}
}

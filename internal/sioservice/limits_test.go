package sioservice

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/socketio"
)

func newLimitedService(t *testing.T, lim Limits) (*socketio.Server, func() Stats) {
	srv, err := socketio.New(socketio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	stats := InstallWithLimits(srv.Of("/"), lim)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, stats
}

// manual is a clock that moves only when told.
type manual struct{ t time.Time }

func (m *manual) now() time.Time { return m.t }

func TestRoomLimits(t *testing.T) {
	srv, stats := newLimitedService(t, Limits{MaxRooms: 2, MaxRoomSize: 2})
	a, b, c := dial(t, srv, "a"), dial(t, srv, "b"), dial(t, srv, "c")
	a.send(`20["join","r1"]`)
	a.expect(`30[{"ok":true,"room":"r1","members":1}]`)
	a.send(`21["join","r2"]`)
	a.expect(`31[{"ok":true,"room":"r2","members":1}]`)
	a.send(`22["join","r3"]`)
	a.expect(`32[{"ok":false,"error":"too_many_rooms"}]`)
	a.send(`23["join","r1"]`) // already a member: not a new room
	a.expect(`33[{"ok":true,"room":"r1","members":1}]`)
	a.send(`24["leave","r2"]`)
	a.expect(`34[{"ok":true,"room":"r2"}]`)
	a.send(`25["join","r3"]`)
	a.expect(`35[{"ok":true,"room":"r3","members":1}]`)

	b.send(`20["join","r1"]`)
	b.expect(`30[{"ok":true,"room":"r1","members":2}]`)
	c.send(`20["join","r1"]`)
	c.expect(`30[{"ok":false,"error":"room_full"}]`)
	// The refused join left no trace: a publish to r1 reaches a only.
	b.send(`21["publish",{"room":"r1","event":"e","data":1}]`)
	a.expect(`2["e",1]`)
	b.expect(`31[{"ok":true}]`)
	c.expectNone()
	b.send(`22["join","r1"]`) // a member rejoining a full room
	b.expect(`32[{"ok":true,"room":"r1","members":2}]`)

	if st := stats(); st.TooManyRooms != 1 || st.RoomFull != 1 || st.RateLimited != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMessageRate(t *testing.T) {
	clock := &manual{t: time.Unix(1_700_000_000, 0)}
	srv, stats := newLimitedService(t, Limits{MessageRate: 1, MessageBurst: 3, Now: clock.now})
	a := dial(t, srv, "a")
	for i := 0; i < 3; i++ {
		a.send(fmt.Sprintf(`2%d["join","r"]`, i))
		a.expect(fmt.Sprintf(`3%d[{"ok":true,"room":"r","members":1}]`, i))
	}
	a.send(`25["leave","r"]`)
	a.expect(`35[{"ok":false,"error":"rate_limited"}]`)
	clock.t = clock.t.Add(time.Second)
	a.send(`26["leave","r"]`)
	a.expect(`36[{"ok":true,"room":"r"}]`)

	// A client that keeps going past MessageBurst refusals is cut off.
	for i := 0; i < 3; i++ {
		a.send(fmt.Sprintf(`24%d["leave","r"]`, i))
		a.expect(fmt.Sprintf(`34%d[{"ok":false,"error":"rate_limited"}]`, i))
	}
	a.send(`2["leave","r"]`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.fc.mu.Lock()
		done := a.fc.done
		a.fc.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("flooding client not disconnected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := stats(); st.RateLimited != 5 || st.Disconnected != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Another client has a bucket of its own.
	b := dial(t, srv, "b")
	b.send(`20["join","r"]`)
	b.expect(`30[{"ok":true,"room":"r","members":1}]`)
}

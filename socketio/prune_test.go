package socketio

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/socketio/packet"
)

// TestSessionsPrunedInOrder stores sessions, restores one and stores it
// again, and checks that pruning drops exactly those older than the window.
func TestSessionsPrunedInOrder(t *testing.T) {
	const window = 50 * time.Millisecond
	srv, err := New(Config{Recovery: &RecoveryConfig{MaxDisconnectionDuration: window}})
	if err != nil {
		t.Fatal(err)
	}
	a := NewMemoryAdapter(srv.Of("/"))
	for i := 0; i < 100; i++ {
		a.PersistSession(&Session{PID: fmt.Sprintf("p%d", i), SID: fmt.Sprintf("s%d", i)})
	}
	// p7 is restored (it needs a stored packet to succeed) then stored anew.
	a.store(&packet.Packet{Type: packet.Event, Namespace: "/", Data: []byte(`["x"]`)}, BroadcastOptions{})
	a.rmu.Lock()
	offset := a.packets[0].offset
	a.rmu.Unlock()
	if s, err := a.RestoreSession(context.Background(), "p7", offset); err != nil || s == nil {
		t.Fatalf("restore p7: %v %v", s, err)
	}
	time.Sleep(window + 20*time.Millisecond)
	a.PersistSession(&Session{PID: "p7", SID: "s7b"})
	a.PersistSession(&Session{PID: "late", SID: "sl"}) // prunes the first 100
	a.rmu.Lock()
	defer a.rmu.Unlock()
	if len(a.sessions) != 2 || a.sessions["p7"] == nil || a.sessions["late"] == nil {
		t.Fatalf("sessions after pruning: %d (p7 %v, late %v), want p7 and late", len(a.sessions), a.sessions["p7"] != nil, a.sessions["late"] != nil)
	}
	if len(a.expiries) != 2 {
		t.Fatalf("%d expiries kept, want 2", len(a.expiries))
	}
}

// BenchmarkPersistSessionMassDisconnect stores b.N sessions at once, as
// when every client of a big room drops together.
func BenchmarkPersistSessionMassDisconnect(b *testing.B) {
	srv, err := New(Config{Recovery: &RecoveryConfig{}})
	if err != nil {
		b.Fatal(err)
	}
	a := NewMemoryAdapter(srv.Of("/"))
	for i := 0; b.Loop(); i++ {
		a.PersistSession(&Session{PID: fmt.Sprintf("p%d", i)})
	}
}

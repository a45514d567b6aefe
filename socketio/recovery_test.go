package socketio

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// lastArg returns the last argument of an EVENT packet text (the offset).
func lastArg(t *testing.T, text string) string {
	t.Helper()
	i := strings.IndexByte(text, '[')
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(text[i:]), &arr); err != nil {
		t.Fatal(err)
	}
	var s string
	json.Unmarshal(arr[len(arr)-1], &s)
	return s
}

func TestConnectionStateRecovery(t *testing.T) {
	srv := newServer(t, Config{Recovery: &RecoveryConfig{}})
	nsp := srv.Of("/")
	mwRuns := 0
	nsp.Use(func(ctx context.Context, s *Socket) error { mwRuns++; return nil })
	nsp.On("join", func(ctx context.Context, s *Socket, args Args) (any, error) {
		s.Join("room")
		s.SetData("state")
		return nil, nil
	})

	p := newPeer(t, srv)
	p.send("0")
	reply := p.expectPrefix(`0{"sid":"`)
	var hs struct{ SID, PID string }
	json.Unmarshal([]byte(reply[1:]), &hs)
	if hs.PID == "" {
		t.Fatalf("no pid in %s", reply)
	}
	p.send(`21["join"]`)
	p.expect(`31[]`)
	nsp.To("room").Emit("m", 1)
	offset := lastArg(t, p.expectPrefix(`2["m",1,"`))
	p.drop("transport close")

	// Missed while away: only what targets the session's rooms.
	deadline := time.Now().Add(5 * time.Second)
	for len(nsp.Sockets()) != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	nsp.To("room").Emit("m", 2)
	nsp.To("elsewhere").Emit("m", 3)
	nsp.Volatile().Emit("m", 4)
	nsp.Except("room").Emit("m", 5)
	nsp.Emit("m", 6)

	q := newPeer(t, srv)
	q.send(`0{"pid":"` + hs.PID + `","offset":"` + offset + `"}`)
	reply = q.expectPrefix(`0{"sid":"` + hs.SID + `","pid":"` + hs.PID + `"}`)
	_ = reply
	q.expectPrefix(`2["m",2,"`)
	q.expectPrefix(`2["m",6,"`)
	q.expectNothing(20 * time.Millisecond)
	s, ok := nsp.Socket(hs.SID)
	if !ok || !s.Recovered() || s.Data() != "state" || strings.Join(s.Rooms(), ",") != hs.SID+",room" && strings.Join(s.Rooms(), ",") != "room,"+hs.SID {
		t.Fatalf("restored socket: %v %+v", ok, s)
	}
	if mwRuns != 1 {
		t.Fatalf("middleware ran %d times, want 1 (skipped on recovery)", mwRuns)
	}

	// A session is restored once; an unknown offset restores nothing.
	r := newPeer(t, srv)
	r.send(`0{"pid":"` + hs.PID + `","offset":"` + offset + `"}`)
	reply = r.expectPrefix(`0{"sid":"`)
	if strings.Contains(reply, hs.SID) {
		t.Fatal("session restored twice")
	}
}

func TestRecoveryOffByDefault(t *testing.T) {
	srv := newServer(t, Config{})
	p := newPeer(t, srv)
	p.send("0")
	reply := p.expectPrefix(`0{"sid":"`)
	if strings.Contains(reply, "pid") {
		t.Fatalf("pid without recovery: %s", reply)
	}
	srv.Of("/").Emit("m", 1)
	p.expect(`2["m",1]`)
}

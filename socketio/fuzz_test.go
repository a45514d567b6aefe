package socketio

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzReceive feeds arbitrary message sequences (split at 0x00; a leading
// 0x01 marks a binary message) to one connection of a server with handlers,
// acks and rooms. Nothing may panic, and a second connection must keep
// working whatever the first one sent.
func FuzzReceive(f *testing.F) {
	for _, s := range []string{
		"0\x002[\"echo\",1]",
		"0/custom,\x0021[\"echo\",{\"a\":[1]}]\x001/custom,",
		"0\x0051-2[\"echo\",{\"_placeholder\":true,\"num\":0}]\x00\x01abc",
		"0\x003999[1]\x002[\"join\",\"r\"]\x002[\"shout\",\"x\"]",
		"0{\"pid\":\"x\",\"offset\":\"y\"}\x001",
		"4abc", "0/nope", "2[\"echo\"]", "0\x0051-[\"echo\"]\x002[\"a\"]",
	} {
		f.Add([]byte(s))
	}
	srv, err := New(Config{ConnectTimeout: time.Second, Recovery: &RecoveryConfig{}})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, name := range []string{"/", "/custom"} {
		nsp := srv.Of(name)
		nsp.On("echo", func(ctx context.Context, s *Socket, args Args) (any, error) {
			var v any
			args.Decode(0, &v)
			return args, s.Emit("echoed", args.Values()...)
		})
		nsp.On("join", func(ctx context.Context, s *Socket, args Args) (any, error) {
			r, _ := args.String(0)
			s.Join(r)
			return nil, nil
		})
		nsp.On("shout", func(ctx context.Context, s *Socket, args Args) (any, error) {
			return nil, s.To("r").Emit("shout", args.Values()...)
		})
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := newPeer(t, srv)
		for _, m := range bytes.Split(in, []byte{0}) {
			if b, ok := bytes.CutPrefix(m, []byte{1}); ok {
				p.sendBin(b)
			} else {
				p.send(string(m))
			}
		}
		q := newPeer(t, srv)
		q.connect("/")
		q.send(`27["echo","ok"]`)
		for {
			m := q.next()
			if string(m.data) == `37["ok"]` {
				break
			}
		}
		p.fc.Close()
		q.fc.Close()
	})
}

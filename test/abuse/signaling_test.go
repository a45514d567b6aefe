package abuse

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

type sigConn struct {
	t  *testing.T
	ws *websocket.ClientConn
}

func sigDial(t *testing.T, s *server) *sigConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/signal", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &sigConn{t: t, ws: ws}
}

func (c *sigConn) send(typ websocket.MessageType, b string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, typ, []byte(b)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

type sigReply struct {
	Type, Code, Message, ID string
}

// next reads the next frame; ok=false with the close code when the
// connection ended instead.
func (c *sigConn) next() (r sigReply, closeCode int, ok bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			c.t.Fatal("no answer from /signal")
		}
		return r, websocket.CloseStatus(err), false
	}
	if err := json.Unmarshal(b, &r); err != nil {
		c.t.Fatalf("undecodable frame %q", b)
	}
	return r, 0, true
}

// TestMalformedSignaling: every malformed or out-of-place frame is answered
// with an error frame carrying the contract's code, and the socket stays
// open; a client that keeps provoking errors is closed with 1008.
func TestMalformedSignaling(t *testing.T) {
	s := startServer(t)
	p := startProber(t, s)
	deep := strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000)
	for _, tc := range []struct {
		name  string
		join  bool // join a room first
		typ   websocket.MessageType
		frame string
		code  string
	}{
		{"not JSON", false, websocket.TextMessage, "hello", "bad_json"},
		{"truncated JSON", false, websocket.TextMessage, `{"type":"join","room":`, "bad_json"},
		{"binary garbage", false, websocket.BinaryMessage, "\x00\x01\x02\xff", "bad_json"},
		{"30,000-deep nesting", false, websocket.TextMessage, deep, "bad_json"},
		{"JSON array", false, websocket.TextMessage, `[1,2,3]`, "bad_request"},
		{"no type", false, websocket.TextMessage, `{"room":"r"}`, "bad_request"},
		{"type a number", false, websocket.TextMessage, `{"type":5}`, "bad_request"},
		{"unknown type", false, websocket.TextMessage, `{"type":"dance"}`, "unknown_type"},
		{"join without a room", false, websocket.TextMessage, `{"type":"join","name":"a"}`, "bad_request"},
		{"join with a room object", false, websocket.TextMessage, `{"type":"join","room":{"a":1}}`, "bad_request"},
		{"offer before join", false, websocket.TextMessage, `{"type":"offer","to":"x","sdp":"v=0"}`, "not_joined"},
		{"leave before join", false, websocket.TextMessage, `{"type":"leave"}`, "not_joined"},
		{"join twice", true, websocket.TextMessage, `{"type":"join","room":"again","name":"a"}`, "already_joined"},
		{"offer to nobody", true, websocket.TextMessage, `{"type":"offer","to":"AAAAAAAAAAAAAAAAAAAAAAAAAA","sdp":"v=0"}`, "unknown_peer"},
		{"offer without a target", true, websocket.TextMessage, `{"type":"offer","sdp":"v=0"}`, "bad_request"},
		{"candidate to a number", true, websocket.TextMessage, `{"type":"candidate","to":7,"candidate":{}}`, "bad_request"},
		{"100 KiB frame (limit 64 KiB)", false, websocket.TextMessage, `{"type":"join","room":"` + strings.Repeat("r", 100<<10) + `"}`, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sigDial(t, s)
			if tc.join {
				c.send(websocket.TextMessage, `{"type":"join","room":"mal-`+strconv.FormatInt(time.Now().UnixNano(), 36)+`","name":"a"}`)
				if r, _, _ := c.next(); r.Type != "joined" {
					t.Fatalf("join: %+v", r)
				}
			}
			c.send(tc.typ, tc.frame)
			r, code, ok := c.next()
			if !ok || r.Type != "error" || r.Code != tc.code {
				t.Fatalf("got %+v (close %d), want error %s", r, code, tc.code)
			}
			// The socket stays open and usable.
			c.send(websocket.TextMessage, `{"type":"dance"}`)
			if r, _, ok := c.next(); !ok || r.Code != "unknown_type" {
				t.Errorf("socket not usable after the error: %+v", r)
			}
		})
	}

	t.Run("errors that keep coming close with 1008", func(t *testing.T) {
		c := sigDial(t, s)
		errs := 0
		for range 100 {
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			_ = c.ws.Write(ctx, websocket.TextMessage, []byte("nope")) // fails once the server has closed
			cancel()
			r, code, ok := c.next()
			if !ok {
				if code != 1008 {
					t.Errorf("closed with %d, want 1008", code)
				}
				t.Logf("closed with %d after %d error frames", code, errs)
				return
			}
			if r.Code != "bad_json" {
				t.Fatalf("got %+v", r)
			}
			errs++
		}
		t.Error("100 bad frames in a row and the socket is still open")
	})

	t.Run("room_full", func(t *testing.T) {
		room := "full-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		for i := range 17 {
			c := sigDial(t, s)
			c.send(websocket.TextMessage, `{"type":"join","room":"`+room+`","name":"p`+strconv.Itoa(i)+`"}`)
			r, _, _ := c.next()
			if i < 16 && r.Type != "joined" {
				t.Fatalf("join %d: %+v", i, r)
			}
			if i == 16 && r.Code != "room_full" {
				t.Fatalf("17th join: %+v, want room_full", r)
			}
		}
	})

	t.Run("rate_limited", func(t *testing.T) {
		room := "rate-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		a, b := sigDial(t, s), sigDial(t, s)
		a.send(websocket.TextMessage, `{"type":"join","room":"`+room+`","name":"a"}`)
		a.next()
		b.send(websocket.TextMessage, `{"type":"join","room":"`+room+`","name":"b"}`)
		jb, _, _ := b.next()
		// a floods b with candidates: beyond the burst they are refused.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := range 400 {
			if err := a.ws.Write(ctx, websocket.TextMessage, []byte(`{"type":"candidate","to":"`+jb.ID+`","candidate":{"n":`+strconv.Itoa(i)+`}}`)); err != nil {
				break
			}
		}
		limited, closeCode := 0, 0
		for {
			r, code, ok := a.next()
			if !ok {
				closeCode = code
				break
			}
			if r.Type == "peer-joined" {
				continue
			}
			if r.Code != "rate_limited" {
				t.Fatalf("got %+v", r)
			}
			limited++
		}
		t.Logf("flooder: %d rate_limited errors, then closed with %d", limited, closeCode)
		if limited == 0 || closeCode != 1008 {
			t.Errorf("want rate_limited errors and then close 1008; got %d errors, close %d", limited, closeCode)
		}
		// b got what was let through, and is still served.
		got := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, _, err := b.ws.Read(ctx)
			cancel()
			if err != nil {
				break
			}
			got++
		}
		t.Logf("target received %d frames", got)
		if got < 100 {
			t.Errorf("target received only %d frames", got)
		}
	})
	p.stop("malformed signaling")
	mustProbe(t, s, "after malformed signaling")
}

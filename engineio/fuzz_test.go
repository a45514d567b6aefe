package engineio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzPollingPost feeds arbitrary POST bodies to a polling session through
// ServeHTTP (no network). The server must answer 200 "ok", 400 or 413, never
// panic, close the session exactly when it rejects the body, and deliver
// messages only from bodies it accepted.
func FuzzPollingPost(f *testing.F) {
	for _, s := range []string{
		"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "abc", "", "1", "3", "2",
		"\x1e", "4a\x1e", "b!!", "5\x1e6\x1e4x", "4\xff", strings.Repeat("4x\x1e", 50) + "4y",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(runPost)
}

func runPost(t *testing.T, body []byte) {
	{
		var messages, closes int
		srv, err := New(Config{
			PingInterval: time.Minute, PingTimeout: time.Minute, MaxPayload: 1000,
			Handler: HandlerFuncs{
				Message: func(*Socket, []byte, bool) { messages++ },
				Close:   func(*Socket, Reason, error) { closes++ },
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			_ = srv.Shutdown(ctx)
		}()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil))
		sid := parseOpen(t, rec.Body.String()).SID

		rec = httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/engine.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader(string(body)))
		srv.ServeHTTP(rec, req)
		alive := srv.Len() == 1
		switch rec.Code {
		case http.StatusOK:
			if rec.Body.String() != "ok" {
				t.Fatalf("200 with body %q", rec.Body.String())
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if alive || closes != 1 || messages != 0 {
				t.Fatalf("%d: alive %v, %d closes, %d messages", rec.Code, alive, closes, messages)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if closes > 1 {
			t.Fatalf("%d OnClose calls", closes)
		}
	}
}

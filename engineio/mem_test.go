//go:build !race

package engineio

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

type idleHandler struct{}

func (idleHandler) OnOpen(*Socket)                  {}
func (idleHandler) OnMessage(*Socket, []byte, bool) {}
func (idleHandler) OnClose(*Socket, Reason, error)  {}

// browserHandshake is a polling handshake as a browser sends it: a dozen
// headers, about 700 bytes.
const browserHandshake = "GET /engine.io/?EIO=4&transport=polling&t=PXk3a9b HTTP/1.1\r\n" +
	"Host: chat.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"Accept: */*\r\n" +
	"Origin: https://app.example.com\r\n" +
	"Sec-Fetch-Site: same-site\r\n" +
	"Sec-Fetch-Mode: cors\r\n" +
	"Sec-Fetch-Dest: empty\r\n" +
	"Referer: https://app.example.com/rooms/42\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9,fr;q=0.8\r\n" +
	"Cookie: session=4f2a9c0e1b7d8e6f5a3c2b1d0e9f8a7b; theme=dark; _ga=GA1.1.123456789.1700000000\r\n\r\n"

// TestMemoryPerSession reports (with -v) and bounds the heap an idle polling
// session costs, its handshake request included, with a browser's headers.
// The requests are parsed as net/http parses them, so a session that kept
// strings of the parsed request would pin its line buffers here too.
func TestMemoryPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	srv, err := New(Config{Handler: idleHandler{}, PingInterval: time.Minute, PingTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx) // the sessions wait for GETs that never come
	}()
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(browserHandshake)))
		if err != nil {
			t.Fatal(err)
		}
		r.RemoteAddr = "192.0.2.1:40000"
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "0{") {
			t.Fatalf("handshake %d: %d %q", i, w.Code, w.Body)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if srv.Len() != n {
		t.Fatalf("%d sessions, want %d", srv.Len(), n)
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	objs := float64(after.HeapObjects-before.HeapObjects) / n
	t.Logf("engine.io layer: %.0f bytes and %.1f objects per idle polling session", per, objs)
	if per > 1536 {
		t.Fatalf("%.0f bytes per session, budget 1536", per)
	}
}

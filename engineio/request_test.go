package engineio

import (
	"bufio"
	"crypto/tls"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestHandshakeRequestRoundTrip: what a session keeps of its handshake
// request gives back the request's method, URL, protocol, host, remote
// address, headers (repeated ones in order) and TLS state.
func TestHandshakeRequestRoundTrip(t *testing.T) {
	raw := "GET /socket.io/?EIO=4&transport=websocket&q=%C3%A9&q=2 HTTP/1.1\r\n" +
		"Host: example.com:8080\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Cookie: a=1\r\n" +
		"Cookie: b=2\r\n" +
		"X-Empty: \r\n" +
		"X-Long: " + strings.Repeat("v", 300) + "\r\n" +
		"Origin: https://example.com\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "192.0.2.7:51234"
	r.TLS = &tls.ConnectionState{ServerName: "example.com"}

	h := handshakeRequest(r)
	got := h.request()
	if got.Method != "GET" || got.RequestURI != r.RequestURI || got.Proto != "HTTP/1.1" ||
		got.ProtoMajor != 1 || got.ProtoMinor != 1 || got.Host != "example.com:8080" ||
		got.RemoteAddr != "192.0.2.7:51234" || got.TLS != r.TLS || got.Body != http.NoBody {
		t.Fatalf("request line or connection fields differ: %+v", got)
	}
	if got.URL.Path != "/socket.io/" || !reflect.DeepEqual(got.URL.Query(), r.URL.Query()) {
		t.Fatalf("URL %v, want %v", got.URL, r.URL)
	}
	if !reflect.DeepEqual(got.Header, r.Header) {
		t.Fatalf("headers\n got %q\nwant %q", got.Header, r.Header)
	}
	if got.Context() == nil || got.Context().Done() != nil {
		t.Fatal("the copy's context must not be cancellable")
	}

	// Each call is a new copy: changing one does not change the next.
	got.Header.Set("Cookie", "changed")
	got.URL.RawQuery = ""
	again := h.request()
	if !reflect.DeepEqual(again.Header, r.Header) || again.URL.Query().Get("EIO") != "4" {
		t.Fatalf("a caller's change leaked into the session's copy: %q %v", again.Header, again.URL)
	}
}

// TestHandshakeRequestHandmade: a request built by a program (no
// RequestURI, odd bytes in a header) survives too.
func TestHandshakeRequestHandmade(t *testing.T) {
	r, err := http.NewRequest("GET", "http://127.0.0.1/engine.io/?EIO=4&transport=polling", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header["X-Odd"] = []string{"a\r\nb: c", ""}
	got := handshakeRequest(r).request()
	if got.URL.RequestURI() != "/engine.io/?EIO=4&transport=polling" || !reflect.DeepEqual(got.Header, r.Header) || got.TLS != nil {
		t.Fatalf("got %v %q", got.URL, got.Header)
	}
	if (handshake{}).request() != nil {
		t.Fatal("the zero handshake has no request")
	}
}

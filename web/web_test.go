package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, tt := range []struct {
		path, ctype, contains string
		code                  int
	}{
		{"/", "text/html", `<script type="module" src="app.js">`, 200},
		{"/app.js", "javascript", "import { Call, MAX_PEOPLE } from './call.js';", 200},
		{"/call.js", "javascript", "export class Call", 200},
		{"/app.css", "text/css", ".tiles", 200},
		{"/vendor/socket.io.min.js", "javascript", "Socket.IO v", 200},
		{"/nope.js", "", "", 404},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s: %d %q, body contains %q: %v", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.contains, strings.Contains(string(body), tt.contains))
		}
		if tt.code == 200 && resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", tt.path)
		}
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
}

// TestVendoredVersion keeps vendor/README.md true: the bundle's banner names
// the version the table lists.
func TestVendoredVersion(t *testing.T) {
	readme, err := os.ReadFile("vendor/README.md")
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := files.ReadFile("vendor/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Socket\.IO v(\d+\.\d+\.\d+)`).FindSubmatch(bundle)
	if m == nil || !strings.Contains(string(readme), "| "+string(m[1])+" |") {
		t.Fatalf("vendor/README.md does not list the bundle's version %s", m)
	}
}

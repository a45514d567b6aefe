package origin

import (
	"net/http/httptest"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://example.com", "https://example.com"},
		{"HTTPS://Example.COM", "https://example.com"},
		{"https://example.com/", "https://example.com"},
		{"https://example.com:443", "https://example.com"},
		{"http://example.com:80", "http://example.com"},
		{"http://example.com:443", "http://example.com:443"},
		{"http://localhost:3000", "http://localhost:3000"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://[::1]", "http://[::1]"},
		{"app://desktop", "app://desktop"},
		// Refused.
		{"", ""},
		{"null", ""},
		{"example.com", ""},
		{"https://", ""},
		{"https://example.com/path", ""},
		{"https://example.com?q", ""},
		{"https://example.com?", ""},
		{"https://example.com#f", ""},
		{"https://example.com#", ""},
		{"https://user@example.com", ""},
		{"https://*.example.com", ""},
		{"https://example.com:", ""},
		{"https://example.com:x", ""},
		{"mailto:a@example.com", ""},
		{"https://ex ample.com", ""},
		{"https://exa%6dple.com", ""},
		{"http://[::1%25eth0]", ""},
		{"http://[1.2.3.4]", ""},
		{"A://::0", ""},
		{"https://example.com:0", ""},
		{"https://example.com:65536", ""},
		{"https://example.com:080", ""},
	} {
		got, err := Normalize(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Normalize(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		entries []string
		all     bool
		bad     bool
	}{
		{nil, true, false},
		{[]string{"*"}, true, false},
		{[]string{"https://a.example", "*"}, true, false},
		{[]string{"https://a.example", " http://b.example:8080 "}, false, false},
		{[]string{"https://a.example", "a.example"}, false, true},
		{[]string{"null"}, false, true},
	} {
		l, err := Parse(tc.entries)
		if tc.bad {
			if err == nil {
				t.Errorf("Parse(%q) accepted", tc.entries)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.entries, err)
			continue
		}
		if l.AllowsAll() != tc.all {
			t.Errorf("Parse(%q).AllowsAll() = %v", tc.entries, l.AllowsAll())
		}
	}
	var nilList *List
	if !nilList.AllowsAll() || !nilList.Allowed("https://x.example") || nilList.Origins()[0] != "*" {
		t.Error("a nil list must allow everything")
	}
}

func TestCheck(t *testing.T) {
	l, err := Parse([]string{"https://app.example.com", "http://localhost:3000"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(l.Origins()); got != 2 {
		t.Fatalf("Origins: %d entries", got)
	}
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"", "sb.example.com", true}, // not a browser
		{"https://app.example.com", "sb.example.com", true},
		{"https://APP.example.com:443", "sb.example.com", true},
		{"http://localhost:3000", "sb.example.com", true},
		{"https://sb.example.com", "sb.example.com", true}, // same origin
		{"https://SB.example.com", "sb.example.com", true},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"https://evil.example", "sb.example.com", false},
		{"http://app.example.com", "sb.example.com", false}, // scheme differs
		{"http://localhost:3001", "sb.example.com", false},
		{"null", "sb.example.com", false},
		{"https://app.example.com.evil.example", "sb.example.com", false},
		{"not a url", "sb.example.com", false},
	} {
		r := httptest.NewRequest("GET", "http://"+tc.host+"/signal", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := l.Check(r); got != tc.want {
			t.Errorf("Check(Origin %q, Host %q) = %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"https://example.com", "HTTP://[::1]:80", "https://a.b:443/", "null", "x://y:1#", "https://user@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Normalize(s)
		if err != nil {
			return
		}
		// A normalised origin is a fixed point, and the list built from it
		// allows it.
		again, err := Normalize(o)
		if err != nil || again != o {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", s, o, o, again, err)
		}
		l, err := Parse([]string{s})
		if err != nil || !l.Allowed(o) {
			t.Fatalf("Parse(%q) does not allow %q: %v", s, o, err)
		}
	})
}

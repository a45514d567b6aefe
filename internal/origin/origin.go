// Package origin is the binary's browser Origin allow-list (--allowed-origins):
// which web pages may open WebSocket connections and Engine.IO sessions.
//
// An origin is a scheme, a host and an optional port, as browsers send it in
// the Origin header (RFC 6454 §7): "https://app.example.com",
// "http://localhost:3000". Matching is exact after normalisation (lower
// case, default port dropped). Requests without an Origin header do not
// come from a browser page and are always allowed, and so are same-origin
// requests (the Origin's host equals the request's Host): the pages the
// server itself serves keep working whatever the list says.
package origin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// List is a parsed allow-list. The zero value (and a nil *List) allows
// every origin.
type List struct {
	set map[string]struct{}
}

// Parse parses allow-list entries. An empty list, or one containing "*",
// allows every origin.
func Parse(entries []string) (*List, error) {
	l := &List{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "*" {
			return &List{}, nil
		}
		o, err := Normalize(e)
		if err != nil {
			return nil, fmt.Errorf("origin %q: %w", e, err)
		}
		if l.set == nil {
			l.set = make(map[string]struct{})
		}
		l.set[o] = struct{}{}
	}
	return l, nil
}

// Normalize returns an origin in the form browsers serialise it: lower-case
// scheme and host, the port only when it is not the scheme's default. It
// refuses anything with a path, query, fragment or user information, and
// "null" (opaque origins cannot be told apart, so listing one would allow
// them all).
func Normalize(s string) (string, error) {
	if s == "" || s == "null" {
		return "", errors.New("not a scheme://host[:port] origin")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a scheme://host[:port] origin")
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(s, "#") {
		return "", errors.New("not a scheme://host[:port] origin")
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if !validHost(host, strings.HasPrefix(u.Host, "[")) {
		return "", errors.New("not a host name or IP address (no wildcards)")
	}
	if strings.HasSuffix(u.Host, ":") || !validPort(port) {
		return "", errors.New("bad port")
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host, nil
}

// AllowsAll reports whether the list allows every origin.
func (l *List) AllowsAll() bool { return l == nil || len(l.set) == 0 }

// Origins returns the listed origins (for CORS), or ["*"] when every origin
// is allowed.
func (l *List) Origins() []string {
	if l.AllowsAll() {
		return []string{"*"}
	}
	out := make([]string, 0, len(l.set))
	for o := range l.set {
		out = append(out, o)
	}
	return out
}

// Allowed reports whether a browser page of origin may connect.
func (l *List) Allowed(origin string) bool {
	if l.AllowsAll() {
		return true
	}
	if _, ok := l.set[origin]; ok { // the common case: already normalised
		return true
	}
	o, err := Normalize(origin)
	if err != nil {
		return false
	}
	_, ok := l.set[o]
	return ok
}

// Check is the policy for a request: allowed without an Origin header, for
// a same-origin request, or for an origin on the list. It has the signature
// of websocket.Config.CheckOrigin.
func (l *List) Check(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || l.Allowed(o) {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// validHost accepts an IP address (IPv6 only in brackets) or a DNS name
// (ASCII letters, digits, '-', '_' and dots; browsers send IDNs as
// punycode).
func validHost(h string, bracketed bool) bool {
	if bracketed {
		a, err := netip.ParseAddr(h)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535 && p[0] != '0' && p[0] != '+'
}

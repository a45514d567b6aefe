package engineio

import (
	"crypto/tls"
	"encoding/binary"
	"net/http"
	"net/url"
)

// handshake is what a session keeps of its handshake request, frozen into
// one string: method, request URI, protocol, host, remote address and the
// headers, each length-prefixed (uvarint), plus the TLS state. Socket.Request
// rebuilds an *http.Request from it on each call.
//
// Why not http.Request.Clone: the clone's header map, one []string per
// header and the strings of the parsed request it keeps alive cost about
// 1.4 kB per session with a load generator's five headers, and several times
// that with a browser's; this costs one allocation of the request's size.
// Sessions live long and their request is rarely asked for (Socket.IO's
// handshake, on demand).
type handshake struct {
	buf string
	tls *tls.ConnectionState
}

// handshakeRequest copies what a session keeps of its handshake request r.
func handshakeRequest(r *http.Request) handshake {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	n := len(r.Method) + len(uri) + len(r.Proto) + len(r.Host) + len(r.RemoteAddr) + 5*binary.MaxVarintLen32
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 2*binary.MaxVarintLen32
		}
	}
	b := make([]byte, 0, n)
	for _, s := range [...]string{r.Method, uri, r.Proto, r.Host, r.RemoteAddr} {
		b = appendField(b, s)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			b = appendField(appendField(b, k), v)
		}
	}
	return handshake{buf: string(b), tls: r.TLS}
}

func appendField(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// field returns the field at buf[i:] and the index after it; buf was
// written by handshakeRequest.
func (h handshake) field(i int) (string, int) {
	var n int
	for shift := 0; ; shift += 7 {
		c := h.buf[i]
		i++
		n |= int(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	return h.buf[i : i+n], i + n
}

// request rebuilds the request: a new *http.Request and header map on every
// call, whose strings share h's buffer. Its body is empty and its context is
// context.Background.
func (h handshake) request() *http.Request {
	if h.buf == "" {
		return nil
	}
	var f [5]string
	i := 0
	for j := range f {
		f[j], i = h.field(i)
	}
	hdr := http.Header{}
	for i < len(h.buf) {
		var k, v string
		k, i = h.field(i)
		v, i = h.field(i)
		hdr[k] = append(hdr[k], v)
	}
	u, err := url.ParseRequestURI(f[1])
	if err != nil {
		u = &url.URL{Path: f[1]}
	}
	r := &http.Request{Method: f[0], URL: u, RequestURI: f[1], Proto: f[2], Host: f[3], RemoteAddr: f[4],
		Header: hdr, Body: http.NoBody, TLS: h.tls}
	r.ProtoMajor, r.ProtoMinor, _ = http.ParseHTTPVersion(r.Proto)
	return r
}

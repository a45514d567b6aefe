package websocket

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
)

// permessage-deflate (RFC 7692). The server always negotiates "no context
// takeover" in both directions (§7.1.1), so every message is compressed and
// decompressed with pooled state and no memory stays pinned per connection.

// deflateParams is an accepted permessage-deflate offer.
type deflateParams struct {
	serverMaxWindowBits int // 0 when the client did not ask
}

// negotiateDeflate picks the first acceptable permessage-deflate offer from
// the Sec-WebSocket-Extensions header values (RFC 7692 §5, §7.1). It
// returns the response extension and ok=false when no offer is acceptable
// (the connection then goes on uncompressed).
func negotiateDeflate(headers []string) (resp string, p deflateParams, ok bool) {
	for _, ext := range parseExtensions(headers) {
		if ext.name != "permessage-deflate" {
			continue
		}
		if p, ok := acceptDeflateOffer(ext.params); ok {
			resp := "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
			if p.serverMaxWindowBits != 0 {
				resp += "; server_max_window_bits=" + strconv.Itoa(p.serverMaxWindowBits)
			}
			return resp, p, true
		}
	}
	return "", deflateParams{}, false
}

// acceptDeflateOffer validates one offer's parameters (RFC 7692 §7.1): known
// names only, each at most once, window bits 8-15.
func acceptDeflateOffer(params []extParam) (deflateParams, bool) {
	var p deflateParams
	seen := map[string]bool{}
	for _, kv := range params {
		if seen[kv.name] {
			return p, false
		}
		seen[kv.name] = true
		switch kv.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if kv.hasValue {
				return p, false
			}
		case "server_max_window_bits":
			bits, ok := windowBits(kv)
			if !ok || !kv.hasValue {
				return p, false
			}
			p.serverMaxWindowBits = bits
		case "client_max_window_bits":
			if kv.hasValue {
				if _, ok := windowBits(kv); !ok {
					return p, false
				}
			}
		default:
			return p, false
		}
	}
	return p, true
}

func windowBits(kv extParam) (int, bool) {
	if !kv.hasValue {
		return 0, true
	}
	if len(kv.value) == 0 || len(kv.value) > 2 || kv.value[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(kv.value)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return n, true
}

type extension struct {
	name   string
	params []extParam
}

type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions parses Sec-WebSocket-Extensions values (RFC 6455 §9.1):
// a comma-separated list of extensions, each with ;-separated parameters
// whose values may be tokens or quoted strings. A malformed extension is
// dropped, so a bad offer never matches.
func parseExtensions(headers []string) []extension {
	var out []extension
	for _, h := range headers {
		for _, item := range splitOutsideQuotes(h, ',') {
			parts := splitOutsideQuotes(item, ';')
			name := strings.TrimSpace(parts[0])
			if !isToken(name) {
				continue
			}
			ext := extension{name: strings.ToLower(name)}
			good := true
			for _, part := range parts[1:] {
				part = strings.TrimSpace(part)
				k, v, has := strings.Cut(part, "=")
				k = strings.TrimSpace(k)
				if !isToken(k) {
					good = false
					break
				}
				if has {
					v = strings.TrimSpace(v)
					if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
						v = v[1 : len(v)-1]
					}
					if !isToken(v) {
						good = false
						break
					}
				}
				ext.params = append(ext.params, extParam{name: strings.ToLower(k), value: v, hasValue: has})
			}
			if good {
				out = append(out, ext)
			}
		}
	}
	return out
}

func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == sep && !inQuote:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// isToken reports whether s is an RFC 7230 §3.2.6 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// --- compression and decompression with pooled state ---

var errTooBig = errors.New("websocket: message too big")

// deflateTail ends a message for the decompressor (RFC 7692 §7.2.2): the
// 4 octets the sender removed, then an empty final stored block so that the
// reader sees a clean end of stream.
const deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

type inflater struct {
	fr  io.ReadCloser
	src tailReader
}

type tailReader struct {
	p    []byte
	tail int
}

func (t *tailReader) Read(b []byte) (int, error) {
	if len(t.p) > 0 {
		n := copy(b, t.p)
		t.p = t.p[n:]
		return n, nil
	}
	if t.tail < len(deflateTail) {
		n := copy(b, deflateTail[t.tail:])
		t.tail += n
		return n, nil
	}
	return 0, io.EOF
}

// ReadByte lets flate read without its own buffering.
func (t *tailReader) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := t.Read(b[:]); err != nil {
		return 0, err
	}
	return b[0], nil
}

var inflaters sync.Pool

// inflate decompresses one message into a pooled buffer (caller Puts it).
func inflate(p []byte, max int64) ([]byte, error) {
	inf, _ := inflaters.Get().(*inflater)
	if inf == nil {
		inf = &inflater{}
		inf.src = tailReader{p: p}
		inf.fr = flate.NewReader(&inf.src)
	} else {
		inf.src = tailReader{p: p}
		if err := inf.fr.(flate.Resetter).Reset(&inf.src, nil); err != nil {
			return nil, err
		}
	}
	defer inflaters.Put(inf)
	size := 4 * len(p)
	if size < 512 {
		size = 512
	}
	if int64(size) > max+1 {
		size = int(max + 1)
	}
	out := pool.Get(size)
	for {
		if len(out) == cap(out) {
			if int64(len(out)) > max {
				pool.Put(out)
				return nil, errTooBig
			}
			out = pool.Grow(out, len(out))
		}
		n, err := inf.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if int64(len(out)) > max {
			pool.Put(out)
			return nil, errTooBig
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			pool.Put(out)
			return nil, err
		}
	}
}

type deflater struct {
	fw  *flate.Writer
	dst sliceWriter
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = pool.Grow(w.b, len(p))
	w.b = append(w.b, p...)
	return len(p), nil
}

// deflaterPools are keyed by compression level; HuffmanOnly serves peers
// that limited our window below 32 KiB.
var deflaterPools sync.Map // int -> *sync.Pool

// compress deflates p into a pooled buffer without the trailing 4 octets
// (RFC 7692 §7.2.1). The caller Puts the result.
func compress(p []byte, level int) []byte {
	v, _ := deflaterPools.LoadOrStore(level, &sync.Pool{})
	dp := v.(*sync.Pool)
	d, _ := dp.Get().(*deflater)
	if d == nil {
		d = &deflater{}
		fw, err := flate.NewWriter(&d.dst, level)
		if err != nil {
			fw, _ = flate.NewWriter(&d.dst, flate.BestSpeed)
		}
		d.fw = fw
	}
	d.dst.b = pool.Get(len(p)/2 + 64)
	d.fw.Reset(&d.dst)
	_, _ = d.fw.Write(p)
	_ = d.fw.Flush()
	out := d.dst.b
	d.dst.b = nil
	dp.Put(d)
	if n := len(out); n >= 4 && string(out[n-4:]) == "\x00\x00\xff\xff" {
		out = out[:n-4]
	}
	return out
}

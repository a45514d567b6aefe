package engineio

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// HTTP compression of polling responses, as the reference does by default
// (lib/transports/polling.ts, doWrite; option httpCompression, threshold
// 1024 bytes): gzip when the client accepts it and the payload is at least
// Config.HTTPCompressionThreshold bytes.

// DefaultHTTPCompressionThreshold is the reference's httpCompression.threshold.
const DefaultHTTPCompressionThreshold = 1024

// acceptsGzip reports whether r's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// gzipBody compresses body with a pooled writer; it returns nil when
// compression does not pay (the output would not be smaller).
func (srv *Server) gzipBody(body []byte) []byte {
	zw, _ := srv.gzipPool.Get().(*gzip.Writer)
	var buf bytes.Buffer
	buf.Grow(len(body) / 2)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	} else {
		zw.Reset(&buf)
	}
	_, _ = zw.Write(body)
	err := zw.Close()
	zw.Reset(nil)
	srv.gzipPool.Put(zw)
	if err != nil || buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

// writePollBody writes a polling response, compressed when it pays.
func (srv *Server) writePollBody(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	if t := srv.cfg.HTTPCompressionThreshold; t > 0 && len(body) >= t {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			if z := srv.gzipBody(body); z != nil {
				h.Set("Content-Encoding", "gzip")
				body = z
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

package websocket

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// acceptGUID is the fixed GUID of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey computes Sec-WebSocket-Accept for a client key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// handshakeError is a rejected upgrade request and the HTTP status it gets.
type handshakeError struct {
	status int
	msg    string
}

func (e *handshakeError) Error() string { return "websocket: " + e.msg }

// upgradeRequest is what the server needs from a valid opening handshake.
type upgradeRequest struct {
	key          string
	subprotocols []string
	extensions   []string
}

// IsUpgradeRequest reports whether r asks to upgrade to WebSocket (it may
// still be an invalid handshake).
func IsUpgradeRequest(r *http.Request) bool {
	return headerHasToken(r.Header, "Upgrade", "websocket") && headerHasToken(r.Header, "Connection", "upgrade")
}

// checkHandshake validates a client's opening handshake (RFC 6455 §4.2.1).
func checkHandshake(r *http.Request) (upgradeRequest, error) {
	var u upgradeRequest
	switch {
	case r.Method != http.MethodGet:
		return u, &handshakeError{http.StatusMethodNotAllowed, "handshake method is not GET"}
	case !r.ProtoAtLeast(1, 1):
		return u, &handshakeError{http.StatusBadRequest, "handshake needs HTTP/1.1"}
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return u, &handshakeError{http.StatusBadRequest, "missing Upgrade: websocket"}
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return u, &handshakeError{http.StatusBadRequest, "missing Connection: Upgrade"}
	case r.Header.Get("Sec-Websocket-Version") != "13":
		return u, &handshakeError{http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version (want 13)"}
	}
	keys := r.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 {
		return u, &handshakeError{http.StatusBadRequest, "need exactly one Sec-WebSocket-Key"}
	}
	key := strings.TrimSpace(keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return u, &handshakeError{http.StatusBadRequest, "Sec-WebSocket-Key is not 16 bytes of base64"}
	}
	u.key = key
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				u.subprotocols = append(u.subprotocols, p)
			}
		}
	}
	u.extensions = r.Header.Values("Sec-Websocket-Extensions")
	return u, nil
}

// headerHasToken reports whether a comma-separated header contains token,
// case-insensitively (RFC 7230 §7).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// sameOrigin is the default CheckOrigin: no Origin header (not a browser),
// or an Origin whose host equals the request's Host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// selectSubprotocol returns the first of the server's subprotocols that the
// client offered (server preference order).
func selectSubprotocol(server, client []string) string {
	for _, s := range server {
		for _, c := range client {
			if s == c {
				return s
			}
		}
	}
	return ""
}

// appendResponse appends the 101 response (RFC 6455 §4.2.2 step 5).
func appendResponse(b []byte, key, subprotocol, ext string) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	if subprotocol != "" {
		b = append(b, "\r\nSec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
	}
	if ext != "" {
		b = append(b, "\r\nSec-WebSocket-Extensions: "...)
		b = append(b, ext...)
	}
	return append(b, "\r\n\r\n"...)
}

// maxRequestHeader bounds an upgrade request read by the event loop.
const maxRequestHeader = 8 << 10

var errRequestTooLarge = errors.New("websocket: request header too large")

// parseRequest parses one HTTP/1.x request head from b (read by the event
// loop). It returns n=0 and no error while the head is incomplete, and the
// head's length once complete; bytes after it belong to what follows.
func parseRequest(b []byte) (*http.Request, int, error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > maxRequestHeader {
			return nil, 0, errRequestTooLarge
		}
		return nil, 0, nil
	}
	n := end + 4
	if n > maxRequestHeader {
		return nil, 0, errRequestTooLarge
	}
	r, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(b[:n]), n))
	if err != nil {
		return nil, 0, err
	}
	return r, n, nil
}

// appendHTTPError appends a plain-text error response that closes the
// connection.
func appendHTTPError(b []byte, status int, msg string, extra http.Header) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(msg)+1), 10)
	for k, vs := range extra {
		for _, v := range vs {
			b = append(b, "\r\n"...)
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
		}
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, msg...)
	return append(b, '\n')
}

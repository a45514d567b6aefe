package engineio

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Sentinel errors.
var (
	// ErrClosed is returned by Send on a socket that is closing or closed.
	ErrClosed = errors.New("engineio: socket closed")
	// ErrSlowConsumer is reported to OnClose (and returned by Send) when a
	// socket's outbound queue exceeded Config.WriteQueueLimit; the socket is
	// closed so that it cannot grow memory or stall a broadcast.
	ErrSlowConsumer = errors.New("engineio: slow consumer: outbound queue limit exceeded")
	// ErrPayloadTooLarge is reported to OnClose when a client sent more than
	// Config.MaxPayload bytes in one request or message.
	ErrPayloadTooLarge = errors.New("engineio: payload exceeds maxPayload")
	// ErrServerClosed is returned by Shutdown when called twice.
	ErrServerClosed = errors.New("engineio: server closed")
)

// Reason says why a socket closed. The values are those of the reference
// implementation (socketio/engine.io lib/socket.ts, Socket#onClose), which
// the Socket.IO layer passes on as disconnect reasons.
type Reason string

// Close reasons reported to Handler.OnClose.
const (
	// ReasonTransportClose: the client closed the connection or sent a
	// close packet.
	ReasonTransportClose Reason = "transport close"
	// ReasonTransportError: the transport failed (a duplicate poll, an
	// interrupted request, an oversized payload, a slow consumer, a write
	// error). OnClose's err says which.
	ReasonTransportError Reason = "transport error"
	// ReasonParseError: the client sent a packet that is not Engine.IO v4.
	ReasonParseError Reason = "parse error"
	// ReasonPingTimeout: no pong within PingTimeout of a ping.
	ReasonPingTimeout Reason = "ping timeout"
	// ReasonForcedClose: the application called Socket.Close.
	ReasonForcedClose Reason = "forced close"
	// ReasonServerShutdown: Server.Shutdown closed the socket.
	ReasonServerShutdown Reason = "server shutting down"
)

// ErrorCode is the code of an HTTP error answer, as the reference
// implementation sends it in a JSON body {"code":N,"message":"..."}
// (socketio/engine.io lib/server.ts, Server.errors).
type ErrorCode int

// Error codes of rejected requests.
const (
	CodeUnknownTransport           ErrorCode = 0 // HTTP 400 "Transport unknown"
	CodeUnknownSID                 ErrorCode = 1 // HTTP 400 "Session ID unknown"
	CodeBadHandshakeMethod         ErrorCode = 2 // HTTP 400 "Bad handshake method"
	CodeBadRequest                 ErrorCode = 3 // HTTP 400 "Bad request"
	CodeForbidden                  ErrorCode = 4 // HTTP 403 "Forbidden" (AllowRequest refused)
	CodeUnsupportedProtocolVersion ErrorCode = 5 // HTTP 400 "Unsupported protocol version"
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// String returns the reference implementation's message for c.
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(codeMessages) {
		return codeMessages[c]
	}
	return "ErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// requestError is a rejected HTTP request: the code sent to the client and
// the detail kept for logs.
type requestError struct {
	Code   ErrorCode
	Detail string
}

func (e *requestError) Error() string {
	if e.Detail == "" {
		return "engineio: " + e.Code.String()
	}
	return "engineio: " + e.Code.String() + ": " + e.Detail
}

// status is the HTTP status the reference implementation answers with.
func (e *requestError) status() int {
	if e.Code == CodeForbidden {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func reqErr(code ErrorCode, detail string) *requestError {
	return &requestError{Code: code, Detail: detail}
}

// writeRequestError answers a rejected request like the reference
// (lib/server.ts abortRequest): 400 or 403, JSON body with code and message.
// For CodeForbidden the message is the AllowRequest error's text.
func writeRequestError(w http.ResponseWriter, e *requestError) {
	msg := e.Code.String()
	if e.Code == CodeForbidden && e.Detail != "" {
		msg = e.Detail
	}
	body, _ := json.Marshal(struct {
		Code    ErrorCode `json:"code"`
		Message string    `json:"message"`
	}{e.Code, msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status())
	_, _ = w.Write(body)
}

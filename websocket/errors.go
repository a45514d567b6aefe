package websocket

import (
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/websocket/frame"
)

// StatusCode is a close status code (RFC 6455 §7.4).
type StatusCode uint16

// Close status codes (RFC 6455 §7.4.1).
const (
	StatusNormalClosure   StatusCode = frame.CloseNormal
	StatusGoingAway       StatusCode = frame.CloseGoingAway
	StatusProtocolError   StatusCode = frame.CloseProtocolError
	StatusUnsupportedData StatusCode = frame.CloseUnsupportedData
	StatusNoStatusRcvd    StatusCode = frame.CloseNoStatus
	StatusAbnormalClosure StatusCode = frame.CloseAbnormal
	StatusInvalidPayload  StatusCode = frame.CloseInvalidPayload
	StatusPolicyViolation StatusCode = frame.ClosePolicyViolation
	StatusMessageTooBig   StatusCode = frame.CloseTooBig
	StatusMandatoryExt    StatusCode = frame.CloseMandatoryExt
	StatusInternalError   StatusCode = frame.CloseInternalError
	StatusServiceRestart  StatusCode = frame.CloseServiceRestart
	StatusTryAgainLater   StatusCode = frame.CloseTryAgainLater
)

// CloseError is the close status that ended a connection: the peer's Close
// frame, or the one this endpoint sent when it failed the connection.
type CloseError struct {
	Code   StatusCode
	Reason string
	// Local is true when this endpoint chose the code (a protocol
	// violation by the peer, a limit, Close or Shutdown).
	Local bool
}

func (e *CloseError) Error() string {
	who := "peer"
	if e.Local {
		who = "local"
	}
	if e.Reason == "" {
		return fmt.Sprintf("websocket: closed by %s with status %d", who, e.Code)
	}
	return fmt.Sprintf("websocket: closed by %s with status %d: %s", who, e.Code, e.Reason)
}

// CloseStatus returns the close code carried by err, or -1 if err is not
// (and does not wrap) a *CloseError.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// Sentinel errors.
var (
	// ErrClosed is returned by writes on a connection that is closing or closed.
	ErrClosed = errors.New("websocket: connection closed")
	// ErrSlowConsumer is reported to OnClose when a connection's pending
	// output exceeded Config.WriteBufferLimit and the connection was dropped.
	ErrSlowConsumer = errors.New("websocket: slow consumer: write buffer limit exceeded")
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("websocket: server closed")
	// ErrNotWebSocket is returned by Upgrade for a request that is not a
	// valid WebSocket handshake; the response has already been written.
	ErrNotWebSocket = errors.New("websocket: not a websocket handshake")
	// ErrPingTimeout is reported to OnClose when a peer stayed silent for a
	// whole Config.PingInterval after a keepalive Ping.
	ErrPingTimeout = errPingTimeout
)

var errPingTimeout = errors.New("websocket: ping timeout: peer silent")

// protoError fails a connection with a close code (1002, 1007, 1009 …).
type protoError struct {
	code   StatusCode
	reason string
}

func (e *protoError) Error() string { return fmt.Sprintf("websocket: %s (close %d)", e.reason, e.code) }

func failf(code StatusCode, format string, args ...any) *protoError {
	return &protoError{code: code, reason: fmt.Sprintf(format, args...)}
}

package message

import (
	"errors"
	"fmt"
)

// Code is the machine-readable code of an error frame.
type Code string

// The error codes of the /signal protocol (CONTRACT.md).
const (
	CodeBadJSON       Code = "bad_json"       // the frame is not JSON
	CodeBadRequest    Code = "bad_request"    // JSON, but not a valid frame
	CodeUnknownType   Code = "unknown_type"   // "type" names no client frame
	CodeNotJoined     Code = "not_joined"     // the frame needs a joined room
	CodeAlreadyJoined Code = "already_joined" // join while in a room
	CodeUnknownPeer   Code = "unknown_peer"   // "to" is not in the sender's room
	CodeRoomFull      Code = "room_full"      // the room is at its size limit
	CodeRateLimited   Code = "rate_limited"   // the sender exceeded its message rate
	CodeTooLarge      Code = "too_large"      // the frame exceeds the size limit
	CodeUnauthorized  Code = "unauthorized"   // the join token is missing or invalid
	CodeForbidden     Code = "forbidden"      // the join token does not admit to this room
	CodeInternal      Code = "internal"       // the server failed; the client may retry
)

// Error is a protocol error: the code and message of the error frame that
// answers the offending client frame.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("signaling: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

package stun

import (
	"errors"
	"strconv"
)

// Sentinel errors. Decoding failures all match [ErrMalformed] with
// errors.Is; the concrete error names the rule that was broken.
var (
	// ErrMalformed reports bytes that are not a well-formed STUN message or
	// ChannelData message.
	ErrMalformed = errors.New("stun: malformed message")
	// ErrNoAttribute reports that a requested attribute is absent.
	ErrNoAttribute = errors.New("stun: attribute not found")
	// ErrIntegrity reports a MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256
	// mismatch (RFC 8489 §14.5, §14.6).
	ErrIntegrity = errors.New("stun: integrity check failed")
	// ErrFingerprint reports a FINGERPRINT mismatch (RFC 8489 §14.7).
	ErrFingerprint = errors.New("stun: fingerprint check failed")
)

// malformed is a decoding error that matches ErrMalformed. It is a string
// constant type so returning one never allocates (hot path: garbage UDP).
type malformed string

func (e malformed) Error() string        { return "stun: malformed message: " + string(e) }
func (e malformed) Is(target error) bool { return target == ErrMalformed }

const (
	errShort       malformed = "shorter than the header"
	errFirstBits   malformed = "first two bits are not zero"
	errCookie      malformed = "bad magic cookie"
	errLength      malformed = "length is not a multiple of 4 or exceeds the data"
	errAttrLength  malformed = "attribute overruns the message"
	errTooManyAttr malformed = "too many attributes"
	errAddress     malformed = "bad address attribute"
	errErrorCode   malformed = "bad ERROR-CODE attribute"
	errAttrSize    malformed = "attribute value has the wrong size"
	errChannel     malformed = "bad ChannelData message"
	errNotFramed   malformed = "neither STUN nor ChannelData"
)

// Error is a STUN error response code (RFC 8489 §14.8) carried as a Go error,
// so that request handlers can return it and the transport can encode it.
type Error struct {
	Code   int    // 300..699
	Reason string // reason phrase; empty means the standard one
}

func (e *Error) Error() string {
	return "stun: error " + strconv.Itoa(e.Code) + " " + e.reason()
}

func (e *Error) reason() string {
	if e.Reason != "" {
		return e.Reason
	}
	return ReasonPhrase(e.Code)
}

// CodeOf returns the STUN error code carried by err (see [Error]), or 0.
func CodeOf(err error) int {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// Error codes from RFC 8489 §14.8, RFC 8656 §19, RFC 6156 §10 and
// RFC 6062 §6.3.
const (
	CodeTryAlternate                 = 300
	CodeBadRequest                   = 400
	CodeUnauthorized                 = 401
	CodeForbidden                    = 403
	CodeUnknownAttribute             = 420
	CodeAllocationMismatch           = 437
	CodeStaleNonce                   = 438
	CodeAddressFamilyNotSupported    = 440
	CodeWrongCredentials             = 441
	CodeUnsupportedTransportProtocol = 442
	CodePeerAddressFamilyMismatch    = 443
	CodeConnectionAlreadyExists      = 446 // RFC 6062 §6.3
	CodeConnectionTimeoutOrFailure   = 447 // RFC 6062 §6.3
	CodeAllocationQuotaReached       = 486
	CodeRoleConflict                 = 487
	CodeServerError                  = 500
	CodeInsufficientCapacity         = 508
)

// ReasonPhrase returns the recommended reason phrase for a code.
func ReasonPhrase(code int) string {
	switch code {
	case CodeTryAlternate:
		return "Try Alternate"
	case CodeBadRequest:
		return "Bad Request"
	case CodeUnauthorized:
		return "Unauthorized"
	case CodeForbidden:
		return "Forbidden"
	case CodeUnknownAttribute:
		return "Unknown Attribute"
	case CodeAllocationMismatch:
		return "Allocation Mismatch"
	case CodeStaleNonce:
		return "Stale Nonce"
	case CodeAddressFamilyNotSupported:
		return "Address Family not Supported"
	case CodeWrongCredentials:
		return "Wrong Credentials"
	case CodeUnsupportedTransportProtocol:
		return "Unsupported Transport Protocol"
	case CodePeerAddressFamilyMismatch:
		return "Peer Address Family Mismatch"
	case CodeConnectionAlreadyExists:
		return "Connection Already Exists"
	case CodeConnectionTimeoutOrFailure:
		return "Connection Timeout or Failure"
	case CodeAllocationQuotaReached:
		return "Allocation Quota Reached"
	case CodeRoleConflict:
		return "Role Conflict"
	case CodeServerError:
		return "Server Error"
	case CodeInsufficientCapacity:
		return "Insufficient Capacity"
	}
	return "Error"
}

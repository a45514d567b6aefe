package frame

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// Close status codes (RFC 6455 §7.4.1, IANA WebSocket Close Code registry).
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseNoStatus        = 1005 // never sent on the wire (§7.4.1)
	CloseAbnormal        = 1006 // never sent on the wire (§7.4.1)
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseMandatoryExt    = 1010
	CloseInternalError   = 1011
	CloseServiceRestart  = 1012
	CloseTryAgainLater   = 1013
	CloseBadGateway      = 1014
	CloseTLSHandshake    = 1015 // never sent on the wire (§7.4.1)
)

// ValidCloseCode reports whether code may appear in a Close frame on the wire
// (RFC 6455 §7.4.1, §7.4.2): 1000-1003, 1007-1014 from the registry, and the
// 3000-4999 ranges for libraries, frameworks and applications.
func ValidCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// Errors returned by ParseClose.
var (
	ErrCloseLength = errors.New("frame: close payload of 1 byte")
	ErrCloseCode   = errors.New("frame: invalid close code")
	ErrCloseUTF8   = errors.New("frame: close reason is not valid UTF-8")
)

// ParseClose decodes a Close frame payload (RFC 6455 §5.5.1). An empty
// payload yields CloseNoStatus. A 1-byte payload, a code not allowed on the
// wire, or a reason that is not UTF-8 is an error (close with 1002 or 1007).
func ParseClose(p []byte) (code uint16, reason string, err error) {
	switch {
	case len(p) == 0:
		return CloseNoStatus, "", nil
	case len(p) == 1:
		return 0, "", ErrCloseLength
	}
	code = binary.BigEndian.Uint16(p)
	if !ValidCloseCode(code) {
		return code, "", ErrCloseCode
	}
	if !utf8.Valid(p[2:]) {
		return code, "", ErrCloseUTF8
	}
	return code, string(p[2:]), nil
}

// AppendClosePayload appends a Close payload with code and reason, the reason
// cut so that the payload fits a control frame (at a rune boundary).
func AppendClosePayload(dst []byte, code uint16, reason string) []byte {
	if code == CloseNoStatus {
		return dst
	}
	if len(reason) > MaxControlPayload-2 {
		reason = reason[:MaxControlPayload-2]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	dst = binary.BigEndian.AppendUint16(dst, code)
	return append(dst, reason...)
}

package peerjs

import (
	"encoding/json"
	"regexp"
)

// MessageType is the "type" of a PeerJS frame.
type MessageType string

// Frame types of the PeerJS server protocol (peerjs-server src/enums.ts).
const (
	TypeOpen      MessageType = "OPEN"
	TypeLeave     MessageType = "LEAVE"
	TypeCandidate MessageType = "CANDIDATE"
	TypeOffer     MessageType = "OFFER"
	TypeAnswer    MessageType = "ANSWER"
	TypeExpire    MessageType = "EXPIRE"
	TypeHeartbeat MessageType = "HEARTBEAT"
	TypeIDTaken   MessageType = "ID-TAKEN"
	TypeError     MessageType = "ERROR"
)

// ERROR messages of the stock server, which clients may match on.
const (
	errInvalidKey   = "Invalid key provided"
	errInvalidToken = "Invalid token provided"
	errInvalidWS    = "No id, token, or key supplied to websocket server"
	errInvalidID    = "Invalid id provided"
	errLimitReached = "Server has reached its concurrent user limit"
)

// MaxIDLen bounds peer ids and tokens.
const MaxIDLen = 64

// idPattern is the peerjs client's own id rule (peerjs util.validateId).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$`)

// ValidID reports whether id is acceptable as a peer id: the client's rule,
// at most MaxIDLen bytes.
func ValidID(id string) bool {
	return len(id) > 0 && len(id) <= MaxIDLen && idPattern.MatchString(id)
}

// validToken accepts the client's random tokens (base-36 strings) and any
// other short printable ASCII.
func validToken(tok string) bool {
	if len(tok) == 0 || len(tok) > MaxIDLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	return true
}

// clientFrame is a decoded frame from a client. Payload is passed through
// unchanged.
type clientFrame struct {
	Type    MessageType
	Dst     string
	Payload json.RawMessage
}

// decodeFrame parses a client frame; ok is false for anything that is not
// a JSON object with a string "type" (and a string "dst", if present).
func decodeFrame(data []byte) (f clientFrame, ok bool) {
	var raw struct {
		Type    *string         `json:"type"`
		Dst     *string         `json:"dst"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.Type == nil {
		return f, false
	}
	f.Type = MessageType(*raw.Type)
	if raw.Dst != nil {
		f.Dst = *raw.Dst
	}
	if len(raw.Payload) > 0 && string(raw.Payload) != "null" {
		f.Payload = raw.Payload
	}
	return f, true
}

// appendFrame appends {"type":t,"src":src,"dst":dst,"payload":payload},
// leaving out empty members, as the stock server's JSON.stringify does.
func appendFrame(b []byte, t MessageType, src, dst string, payload json.RawMessage) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, string(t))
	if src != "" {
		b = append(b, `,"src":`...)
		b = appendString(b, src)
	}
	if dst != "" {
		b = append(b, `,"dst":`...)
		b = appendString(b, dst)
	}
	if len(payload) > 0 {
		b = append(b, `,"payload":`...)
		b = append(b, payload...)
	}
	return append(b, '}')
}

// appendMsgFrame appends {"type":t,"payload":{"msg":msg}}.
func appendMsgFrame(b []byte, t MessageType, msg string) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, string(t))
	b = append(b, `,"payload":{"msg":`...)
	b = appendString(b, msg)
	return append(b, `}}`...)
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // strings always marshal
	return append(b, q...)
}

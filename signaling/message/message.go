package message

import (
	"encoding/json"
	"unicode/utf8"
)

// Type is the value of a frame's "type" member.
type Type string

// Frame types. The first five are sent by clients, the rest by the server.
const (
	TypeJoin       Type = "join"
	TypeLeave      Type = "leave"
	TypeOffer      Type = "offer"
	TypeAnswer     Type = "answer"
	TypeCandidate  Type = "candidate"
	TypeJoined     Type = "joined"
	TypePeerJoined Type = "peer-joined"
	TypePeerLeft   Type = "peer-left"
	TypeError      Type = "error"
)

// IsRelay reports whether frames of type t are relayed to the peer named in
// their "to" member.
func (t Type) IsRelay() bool {
	return t == TypeOffer || t == TypeAnswer || t == TypeCandidate
}

// Size limits of decoded fields, in bytes. The frame as a whole is limited by
// the server (signaling.Config.MaxMessageSize), not by the codec.
const (
	MaxRoomLen  = 128  // room names: 1..128 bytes of UTF-8, no control characters
	MaxNameLen  = 64   // display names: 0..64 bytes of UTF-8, no control characters
	MaxIDLen    = 64   // peer ids: 1..64 bytes of [A-Za-z0-9_-]
	MaxTokenLen = 4096 // join tokens
)

// Message is a decoded client frame. Room, Name and Token are set for join;
// To for offer, answer and candidate. A Message refers to the bytes it was
// decoded from and is valid only as long as they are.
type Message struct {
	Type  Type
	Room  string
	Name  string
	Token string
	To    string

	members []member
}

// Decode parses and validates one client frame. Errors are *Error values
// whose code is the one to answer with: CodeBadJSON for invalid JSON,
// CodeUnknownType for a type no client may send, CodeBadRequest otherwise.
// Members the protocol does not define are ignored on join and leave and
// passed through on relayed frames.
func Decode(data []byte) (Message, error) {
	if !utf8.Valid(data) || !json.Valid(data) {
		return Message{}, Errorf(CodeBadJSON, "the frame is not valid JSON in UTF-8")
	}
	members, err := splitObject(data, make([]member, 0, 8))
	if err != nil {
		return Message{}, err
	}
	m := Message{members: members}
	raw, ok := m.lookup("type")
	if !ok {
		return Message{}, Errorf(CodeBadRequest, `the frame has no "type"`)
	}
	typ, err := stringField("type", raw)
	if err != nil {
		return Message{}, err
	}
	m.Type = Type(typ)
	switch m.Type {
	case TypeJoin:
		err = m.decodeJoin()
	case TypeLeave:
	case TypeOffer, TypeAnswer:
		err = m.decodeRelay("sdp", '"')
	case TypeCandidate:
		err = m.decodeRelay("candidate", '{')
	default:
		if len(typ) > 32 {
			typ = typ[:32] + "…"
		}
		return Message{}, Errorf(CodeUnknownType, "unknown frame type %q", typ)
	}
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

func (m *Message) decodeJoin() error {
	raw, ok := m.lookup("room")
	if !ok {
		return Errorf(CodeBadRequest, `join needs a "room"`)
	}
	var err error
	if m.Room, err = textField("room", raw, 1, MaxRoomLen); err != nil {
		return err
	}
	if raw, ok := m.lookup("name"); ok {
		if m.Name, err = textField("name", raw, 0, MaxNameLen); err != nil {
			return err
		}
	}
	if raw, ok := m.lookup("token"); ok {
		if m.Token, err = stringField("token", raw); err != nil {
			return err
		}
		if len(m.Token) > MaxTokenLen {
			return Errorf(CodeBadRequest, `"token" is longer than %d bytes`, MaxTokenLen)
		}
	}
	return nil
}

// decodeRelay validates an offer, answer or candidate: a valid "to", no
// "from" (the server sets it), and a payload member of the right JSON kind
// ('"' for a non-empty string, '{' for an object).
func (m *Message) decodeRelay(payload string, kind byte) error {
	raw, ok := m.lookup("to")
	if !ok {
		return Errorf(CodeBadRequest, `%s needs a "to"`, m.Type)
	}
	to, err := stringField("to", raw)
	if err != nil {
		return err
	}
	if !ValidID(to) {
		return Errorf(CodeBadRequest, `"to" is not a peer id`)
	}
	m.To = to
	if _, ok := m.lookup("from"); ok {
		return Errorf(CodeBadRequest, `"from" is set by the server`)
	}
	raw, ok = m.lookup(payload)
	switch {
	case !ok:
		return Errorf(CodeBadRequest, "%s needs %q", m.Type, payload)
	case raw[0] != kind:
		if kind == '"' {
			return Errorf(CodeBadRequest, "%q must be a string", payload)
		}
		return Errorf(CodeBadRequest, "%q must be an object", payload)
	case kind == '"' && len(raw) == 2:
		return Errorf(CodeBadRequest, "%q is empty", payload)
	}
	return nil
}

func (m *Message) lookup(key string) ([]byte, bool) {
	for _, mem := range m.members {
		if mem.key == key {
			return mem.value, true
		}
	}
	return nil, false
}

// AppendRelay appends the relayed form of an offer, answer or candidate to
// dst: the frame's members in their original order and bytes, with "to"
// replaced by "from":from.
func (m *Message) AppendRelay(dst []byte, from string) []byte {
	dst = append(dst, '{')
	for i, mem := range m.members {
		if i > 0 {
			dst = append(dst, ',')
		}
		if mem.key == "to" {
			dst = append(dst, `"from":`...)
			dst = appendString(dst, from)
			continue
		}
		dst = appendString(dst, mem.key)
		dst = append(dst, ':')
		dst = append(dst, mem.value...)
	}
	return append(dst, '}')
}

func stringField(name string, raw []byte) (string, error) {
	if raw[0] != '"' {
		return "", Errorf(CodeBadRequest, "%q must be a string", name)
	}
	s, ok := unquote(raw)
	if !ok {
		return "", Errorf(CodeBadRequest, "%q is not a valid string", name)
	}
	return s, nil
}

// textField decodes a human-readable string: valid UTF-8 without control
// characters, min..max bytes long.
func textField(name string, raw []byte, min, max int) (string, error) {
	s, err := stringField(name, raw)
	if err != nil {
		return "", err
	}
	if len(s) < min || len(s) > max {
		if min > 0 && len(s) == 0 {
			return "", Errorf(CodeBadRequest, "%q is empty", name)
		}
		return "", Errorf(CodeBadRequest, "%q is longer than %d bytes", name, max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", Errorf(CodeBadRequest, "%q contains control characters", name)
		}
	}
	return s, nil
}

// ValidID reports whether id has the form of a peer id: 1..MaxIDLen bytes of
// ASCII letters, digits, '-' and '_'.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidName reports whether name is acceptable as a display name, by the
// rule join applies to "name": at most MaxNameLen bytes of UTF-8 without
// control characters. Names from elsewhere (a token) are checked with it.
func ValidName(name string) bool {
	if len(name) > MaxNameLen || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

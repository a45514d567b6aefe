package message

import (
	"bytes"
	"encoding/json"
)

// member is one top-level member of a JSON object: its unquoted key and its
// value exactly as sent (a sub-slice of the frame, whitespace trimmed).
type member struct {
	key   string
	value []byte
}

// splitObject returns the top-level members of the JSON object in data, in
// order. data must already be valid JSON (json.Valid); splitObject reports a
// CodeBadRequest error when it is not an object or repeats a key, since a
// repeated "to" or "type" would mean different things to different readers.
func splitObject(data []byte, members []member) ([]member, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, Errorf(CodeBadRequest, "a frame must be a JSON object")
	}
	i++
	for {
		i = skipSpace(data, i)
		if data[i] == '}' {
			return members, nil
		}
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		end := stringEnd(data, i)
		key, ok := unquote(data[i:end])
		if !ok {
			return nil, Errorf(CodeBadRequest, "malformed member name")
		}
		for _, m := range members {
			if m.key == key {
				return nil, Errorf(CodeBadRequest, "member %q appears twice", key)
			}
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // ':'
		end = valueEnd(data, i)
		members = append(members, member{key: key, value: data[i:end]})
		i = end
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at data[i].
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// valueEnd returns the index just past the JSON value starting at data[i].
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = stringEnd(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(data)
	default: // number, true, false, null
		for i < len(data) {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return len(data)
	}
}

// unquote decodes the JSON string literal raw. The fast path takes strings
// without escapes as they are.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

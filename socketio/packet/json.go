package packet

import (
	"encoding/json"
	"strconv"
)

// This file scans raw JSON that json.Valid has accepted: it finds the elements
// of an array and the binary placeholders of a payload without decoding the
// values, so client data can be passed on byte for byte.

// SplitArray returns the raw elements of the JSON array data, without
// surrounding white space. The elements alias data.
func SplitArray(data []byte) ([]json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, invalid("payload is not an array")
	}
	var out []json.RawMessage
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return out, nil
	}
	for i < len(data) {
		start := i
		end, err := skipValue(data, i)
		if err != nil {
			return nil, err
		}
		out = append(out, json.RawMessage(data[start:end:end]))
		i = skipSpace(data, end)
		if i >= len(data) {
			break
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return out, nil
		default:
			return nil, invalid("malformed array")
		}
	}
	return nil, invalid("unterminated array")
}

// Placeholder is the position of one {"_placeholder":true,"num":N} object in
// a payload: data[Start:End] is the object, Num the attachment it stands for.
type Placeholder struct {
	Start, End int
	Num        int
}

// Placeholders returns the placeholders of the JSON value data in document
// order. An object counts as a placeholder when its "_placeholder" member is
// true, as in the reference reconstructPacket; its "num" must then be an
// integer in [0, attachments), or the payload is invalid ("illegal
// attachments").
func Placeholders(data []byte, attachments int) ([]Placeholder, error) {
	var out []Placeholder
	_, err := scan(data, skipSpace(data, 0), attachments, &out)
	return out, err
}

func checkPlaceholders(data []byte, attachments int) error {
	if data == nil {
		return nil
	}
	_, err := scan(data, skipSpace(data, 0), attachments, nil)
	return err
}

// scan walks the value at data[i:] and returns its end; placeholders are
// appended to out when out is non-nil. attachments < 0 disables placeholder
// checks.
func scan(data []byte, i, attachments int, out *[]Placeholder) (int, error) {
	if i >= len(data) {
		return 0, invalid("unexpected end of JSON")
	}
	switch data[i] {
	case '[':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for i < len(data) {
			end, err := scan(data, i, attachments, out)
			if err != nil {
				return 0, err
			}
			i = skipSpace(data, end)
			if i < len(data) && data[i] == ']' {
				return i + 1, nil
			}
			i = skipSpace(data, i+1) // ','
		}
		return 0, invalid("unterminated array")
	case '{':
		start := i
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1, nil
		}
		isPlaceholder, num, numOK := false, 0, false
		mark := 0
		if out != nil {
			mark = len(*out)
		}
		for i < len(data) {
			keyEnd, err := skipString(data, i)
			if err != nil {
				return 0, err
			}
			key := data[i:keyEnd]
			i = skipSpace(data, keyEnd)
			i = skipSpace(data, i+1) // ':'
			vstart := i
			end, err := scan(data, i, attachments, out)
			if err != nil {
				return 0, err
			}
			val := data[vstart:end]
			switch unquoteKey(key) {
			case "_placeholder":
				isPlaceholder = string(val) == "true"
			case "num":
				if n, err := strconv.Atoi(string(val)); err == nil {
					num, numOK = n, true
				} else {
					numOK = false
				}
			}
			i = skipSpace(data, end)
			if i < len(data) && data[i] == '}' {
				i++
				if isPlaceholder && attachments >= 0 {
					if !numOK || num < 0 || num >= attachments {
						return 0, invalid("illegal attachments")
					}
					if out != nil {
						// A placeholder replaces the whole object: drop
						// anything found inside it.
						*out = append((*out)[:mark], Placeholder{Start: start, End: i, Num: num})
					}
				}
				return i, nil
			}
			i = skipSpace(data, i+1) // ','
		}
		return 0, invalid("unterminated object")
	case '"':
		return skipString(data, i)
	default:
		j := i
		for j < len(data) && !isDelim(data[j]) {
			j++
		}
		if j == i {
			return 0, invalid("unexpected character in JSON")
		}
		return j, nil
	}
}

func unquoteKey(key []byte) string {
	for _, c := range key {
		if c == '\\' {
			var s string
			if json.Unmarshal(key, &s) != nil {
				return ""
			}
			return s
		}
	}
	if len(key) < 2 {
		return ""
	}
	return string(key[1 : len(key)-1])
}

func isDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
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

// skipString returns the end of the JSON string starting at data[i].
func skipString(data []byte, i int) (int, error) {
	if i >= len(data) || data[i] != '"' {
		return 0, invalid("expected string")
	}
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, invalid("unterminated string")
}

// skipValue returns the end of the value at data[i:] without looking at
// placeholders.
func skipValue(data []byte, i int) (int, error) { return scan(data, i, -1, nil) }

// ObjectMembers calls f with the raw key (quotes and escapes included) and
// the raw value of each member of the JSON object data, in document order,
// so that a handler can pick a few members of an argument without
// encoding/json's reflection. data must be JSON that json.Valid accepts (as
// every argument of a decoded packet is); other input may be reported
// invalid or scanned wrongly. The slices alias data.
func ObjectMembers(data []byte, f func(key, value []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return invalid("not an object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		ks := i
		ke, err := skipString(data, i)
		if err != nil {
			return err
		}
		i = skipSpace(data, ke)
		if i >= len(data) || data[i] != ':' {
			return invalid("malformed object")
		}
		vs := skipSpace(data, i+1)
		ve, err := skipValue(data, vs)
		if err != nil {
			return err
		}
		f(data[ks:ke], data[vs:ve])
		i = skipSpace(data, ve)
		if i >= len(data) {
			break
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return nil
		default:
			return invalid("malformed object")
		}
	}
	return invalid("unterminated object")
}

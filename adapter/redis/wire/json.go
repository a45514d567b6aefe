package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// ErrJSON is wrapped by errors about Socket.IO JSON payloads.
var ErrJSON = errors.New("wire: invalid payload")

// FromJSON turns a Socket.IO JSON value into a MessagePack value: objects
// become Map (key order kept), integral numbers int64, other numbers
// float64, and every placeholder object ({"_placeholder":true,"num":N})
// becomes the []byte of attachment N, as socket.io-parser reconstructs it.
func FromJSON(data []byte, atts [][]byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := jsonValue(dec, atts, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrJSON)
	}
	return v, nil
}

func jsonValue(dec *json.Decoder, atts [][]byte, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deep", ErrJSON)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJSON, err)
	}
	switch t := tok.(type) {
	case nil, bool, string:
		return t, nil
	case json.Number:
		return number(t)
	case json.Delim:
		if t == '[' {
			out := []any{}
			for dec.More() {
				v, err := jsonValue(dec, atts, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrJSON, err)
			}
			return out, nil
		}
		out := Map{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrJSON, err)
			}
			k, _ := kt.(string)
			v, err := jsonValue(dec, atts, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, Pair{k, v})
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrJSON, err)
		}
		if ph, ok := out.Get("_placeholder"); ok && ph == true {
			num, _ := out.Get("num")
			n, ok := num.(int64)
			if !ok || n < 0 || n >= int64(len(atts)) {
				return nil, fmt.Errorf("%w: placeholder %v out of range", ErrJSON, num)
			}
			return atts[n], nil
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unexpected %v", ErrJSON, tok)
}

func number(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("%w: number %s", ErrJSON, n)
	}
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f), nil
	}
	return f, nil
}

// ToJSON turns a MessagePack value into Socket.IO JSON: every []byte becomes
// a placeholder and is appended to the returned attachments, in document
// order, as socket.io-parser deconstructs a packet.
func ToJSON(v any) (json.RawMessage, [][]byte, error) {
	var atts [][]byte
	b, err := appendJSON(nil, v, &atts)
	return b, atts, err
}

// AppendJSON appends the JSON of a MessagePack value with binary values as
// placeholders numbered from 0.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	var atts [][]byte
	return appendJSON(dst, v, &atts)
}

func appendJSON(dst []byte, v any, atts *[][]byte) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(dst, "null"...), nil // as JSON.stringify
		}
		if v == 0 {
			return append(dst, '0'), nil // -0 too, as JSON.stringify
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return append(dst, b...), nil
	case string:
		return appendJSONString(dst, v), nil
	case []byte:
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(*atts)), 10)
		*atts = append(*atts, v)
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		var err error
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSON(dst, e, atts); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case Map:
		dst = append(dst, '{')
		var err error
		for i, p := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, p.Key)
			dst = append(dst, ':')
			if dst, err = appendJSON(dst, p.Value, atts); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("wire: cannot encode %T as JSON", v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as JSON.stringify does (no HTML escaping);
// invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

package wire

import (
	"encoding/json"
	"errors"
	"fmt"
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
// It accepts exactly what encoding/json accepts.
func FromJSON(data []byte, atts [][]byte) (any, error) {
	p := jsonParser{b: data, atts: atts}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, p.fail("trailing data")
	}
	return v, nil
}

// jsonParser is a small recursive-descent JSON parser (RFC 8259) building
// MessagePack values directly, several times cheaper than decoding through
// encoding/json's tokens on the broadcast path.
type jsonParser struct {
	b    []byte
	i    int
	atts [][]byte
}

func (p *jsonParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrJSON, what, p.i)
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return nil, p.fail("invalid literal")
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.fail("nested too deep")
	}
	if p.i >= len(p.b) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		p.i++
		out := []any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return out, nil
		}
		for {
			p.space()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p.space()
			if p.i >= len(p.b) {
				return nil, p.fail("unterminated array")
			}
			if p.b[p.i] == ']' {
				p.i++
				return out, nil
			}
			if p.b[p.i] != ',' {
				return nil, p.fail("expected , or ]")
			}
			p.i++
		}
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.num()
	}
	return nil, p.fail("unexpected character")
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++
	out := Map{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return p.placeholder(out)
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail("expected object key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail("expected :")
		}
		p.i++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out = append(out, Pair{k.(string), v})
		p.space()
		if p.i >= len(p.b) {
			return nil, p.fail("unterminated object")
		}
		if p.b[p.i] == '}' {
			p.i++
			return p.placeholder(out)
		}
		if p.b[p.i] != ',' {
			return nil, p.fail("expected , or }")
		}
		p.i++
	}
}

// placeholder resolves {"_placeholder":true,"num":N} to its attachment.
func (p *jsonParser) placeholder(m Map) (any, error) {
	if ph, ok := m.Get("_placeholder"); ok && ph == true {
		num, _ := m.Get("num")
		n, ok := num.(int64)
		if !ok || n < 0 || n >= int64(len(p.atts)) {
			return nil, fmt.Errorf("%w: placeholder %v out of range", ErrJSON, num)
		}
		return p.atts[n], nil
	}
	return m, nil
}

func (p *jsonParser) str() (any, error) {
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			raw := p.b[start:p.i]
			if !escaped && utf8.Valid(raw) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrJSON, err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return nil, p.fail("control character in string")
		default:
			p.i++
		}
	}
	return nil, p.fail("unterminated string")
}

func (p *jsonParser) num() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if digits() == 0 || (p.b[intStart] == '0' && p.i-intStart > 1) {
		return nil, p.fail("invalid number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	return number(json.Number(p.b[start:p.i]))
}

func number(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("%w: number %s", ErrJSON, n)
	}
	// Out of range: ±Inf or 0, as JSON.parse makes them.
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

package packet

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file is the Go side of deconstructPacket/reconstructPacket
// (packages/socket.io-parser/lib/binary.ts): Go values become JSON with binary
// placeholders, and received placeholders become bytes again.

// Raw is a JSON value whose placeholders refer to Attachments, for example an
// argument received from a client. Encoding a Raw copies its JSON byte for byte
// and renumbers its placeholders; with no attachments the JSON is copied as is.
type Raw struct {
	JSON        json.RawMessage
	Attachments [][]byte
}

// AppendArray appends the JSON array of vs to dst, as [AppendValue] does for
// each element.
func AppendArray(dst []byte, atts [][]byte, vs ...any) ([]byte, [][]byte, error) {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, atts, err = AppendValue(dst, atts, v); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, ']'), atts, nil
}

// AppendValue appends the JSON encoding of v to dst and returns the extended
// dst and atts. A []byte at any depth of slices, arrays, maps and pointers
// becomes the placeholder {"_placeholder":true,"num":N}, N counting on from
// len(atts), and is appended to atts (not copied). json.RawMessage and [Raw]
// are copied byte for byte. Strings are escaped as JavaScript's JSON.stringify
// does (no HTML escaping). Other values, structs included, are encoded by
// encoding/json without HTML escaping, so a []byte struct field is base64 text,
// not an attachment.
func AppendValue(dst []byte, atts [][]byte, v any) ([]byte, [][]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case []byte:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		dst = appendPlaceholder(dst, len(atts))
		return dst, append(atts, v), nil
	case json.RawMessage:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		if !json.Valid(v) {
			return dst, atts, fmt.Errorf("socket.io packet: invalid json.RawMessage")
		}
		return append(dst, v...), atts, nil
	case Raw:
		return appendRaw(dst, atts, v)
	case *Raw:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendRaw(dst, atts, *v)
	case string:
		return AppendString(dst, v), atts, nil
	case bool:
		return strconv.AppendBool(dst, v), atts, nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), atts, nil
	case int64:
		return strconv.AppendInt(dst, v, 10), atts, nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), atts, nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), atts, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), atts, nil
	case float64:
		return appendFloat(dst, atts, v)
	case []any:
		return AppendArray(dst, atts, v...)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, atts, err = AppendValue(dst, atts, v[k]); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, '}'), atts, nil
	case json.Marshaler, encoding.TextMarshaler:
		return appendJSON(dst, atts, v)
	}
	return appendReflect(dst, atts, reflect.ValueOf(v))
}

func appendFloat(dst []byte, atts [][]byte, f float64) ([]byte, [][]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, atts, fmt.Errorf("socket.io packet: unsupported number %v", f)
	}
	return appendJSON(dst, atts, f)
}

// appendReflect handles containers that may hold []byte; anything else goes to
// encoding/json.
func appendReflect(dst []byte, atts [][]byte, rv reflect.Value) ([]byte, [][]byte, error) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		if rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Struct {
			break
		}
		return AppendValue(dst, atts, rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			if rv.Kind() == reflect.Slice {
				return AppendValue(dst, atts, rv.Bytes())
			}
			break
		}
		dst = append(dst, '[')
		for i := range rv.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, atts, err = AppendValue(dst, atts, rv.Index(i).Interface()); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return cmpString(a.String(), b.String())
		})
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k.String())
			dst = append(dst, ':')
			var err error
			if dst, atts, err = AppendValue(dst, atts, rv.MapIndex(k).Interface()); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, '}'), atts, nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(dst, atts, rv.Float())
	}
	return appendJSON(dst, atts, rv.Interface())
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendJSON encodes v with encoding/json without HTML escaping or the
// encoder's trailing newline.
func appendJSON(dst []byte, atts [][]byte, v any) ([]byte, [][]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, atts, fmt.Errorf("socket.io packet: %w", err)
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), atts, nil
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

func appendRaw(dst []byte, atts [][]byte, r Raw) ([]byte, [][]byte, error) {
	if r.JSON == nil {
		return append(dst, "null"...), atts, nil
	}
	if len(r.Attachments) == 0 {
		return append(dst, r.JSON...), atts, nil
	}
	phs, err := Placeholders(r.JSON, len(r.Attachments))
	if err != nil {
		return dst, atts, err
	}
	// Each attachment is sent once even if several placeholders name it.
	renum := make([]int, len(r.Attachments))
	for i := range renum {
		renum[i] = -1
	}
	prev := 0
	for _, ph := range phs {
		dst = append(dst, r.JSON[prev:ph.Start]...)
		if renum[ph.Num] < 0 {
			renum[ph.Num] = len(atts)
			atts = append(atts, r.Attachments[ph.Num])
		}
		dst = appendPlaceholder(dst, renum[ph.Num])
		prev = ph.End
	}
	return append(dst, r.JSON[prev:]...), atts, nil
}

// InlineAttachments returns data with every placeholder replaced by the
// base64 JSON string of its attachment, so that encoding/json can unmarshal
// binary values into []byte. Without attachments data is returned unchanged.
func InlineAttachments(data []byte, atts [][]byte) ([]byte, error) {
	if len(atts) == 0 {
		return data, nil
	}
	phs, err := Placeholders(data, len(atts))
	if err != nil || len(phs) == 0 {
		return data, err
	}
	out := make([]byte, 0, len(data))
	prev := 0
	for _, ph := range phs {
		out = append(out, data[prev:ph.Start]...)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, atts[ph.Num])
		out = append(out, '"')
		prev = ph.End
	}
	return append(out, data[prev:]...), nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string the way JavaScript's JSON.stringify
// writes it: only '"', '\\' and control characters are escaped; invalid UTF-8
// becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// A MessagePack value (https://github.com/msgpack/msgpack/blob/master/spec.md)
// as this package decodes it: nil, bool, int64, uint64 (only above
// math.MaxInt64), float64, string, []byte (bin), []any (array) or Map. The
// extension types notepack.io writes are mapped to what JSON.stringify would
// have produced from the JavaScript value: the timestamp extension (-1, a
// Date) becomes its ISO 8601 string, notepack's legacy "undefined" (fixext 1,
// type 0) and every other extension become nil.
//
// Encoding accepts the same types plus int, int32, uint32, []string and
// time.Time.

// Map is a MessagePack map with string keys, in wire order.
type Map []Pair

// Pair is one entry of a Map.
type Pair struct {
	Key   string
	Value any
}

// Get returns the value of key and whether it is present.
func (m Map) Get(key string) (any, bool) {
	for _, p := range m {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// ErrMsgpack is wrapped by every MessagePack decoding error.
var ErrMsgpack = errors.New("wire: invalid msgpack")

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 128

// AppendMsgpack appends the MessagePack encoding of v.
func AppendMsgpack(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, 0xc0), nil
	case bool:
		if v {
			return append(dst, 0xc3), nil
		}
		return append(dst, 0xc2), nil
	case int:
		return AppendInt(dst, int64(v)), nil
	case int32:
		return AppendInt(dst, int64(v)), nil
	case int64:
		return AppendInt(dst, v), nil
	case uint32:
		return AppendInt(dst, int64(v)), nil
	case uint64:
		if v <= math.MaxInt64 {
			return AppendInt(dst, int64(v)), nil
		}
		dst = append(dst, 0xcf)
		return binary.BigEndian.AppendUint64(dst, v), nil
	case float64:
		return AppendFloat(dst, v), nil
	case string:
		return AppendString(dst, v), nil
	case []byte:
		return AppendBin(dst, v), nil
	case []string:
		dst = AppendArrayHeader(dst, len(v))
		for _, s := range v {
			dst = AppendString(dst, s)
		}
		return dst, nil
	case []any:
		dst = AppendArrayHeader(dst, len(v))
		var err error
		for _, e := range v {
			if dst, err = AppendMsgpack(dst, e); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case Map:
		dst = AppendMapHeader(dst, len(v))
		var err error
		for _, p := range v {
			dst = AppendString(dst, p.Key)
			if dst, err = AppendMsgpack(dst, p.Value); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case time.Time:
		// What JSON.stringify makes of a Date.
		return AppendString(dst, v.UTC().Format(isoMillis)), nil
	default:
		return nil, fmt.Errorf("wire: cannot encode %T as msgpack", v)
	}
}

const isoMillis = "2006-01-02T15:04:05.000Z"

// AppendInt appends n in the shortest form, as notepack.io does.
func AppendInt(dst []byte, n int64) []byte {
	switch {
	case n >= 0 && n < 0x80:
		return append(dst, byte(n))
	case n < 0 && n >= -32:
		return append(dst, byte(n))
	case n >= 0 && n <= math.MaxUint8:
		return append(dst, 0xcc, byte(n))
	case n >= 0 && n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(n))
	case n >= 0 && n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(n))
	case n >= 0:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), uint64(n))
	case n >= math.MinInt8:
		return append(dst, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(n))
	}
}

// AppendFloat appends f as float 64, or as an integer when it is a safe
// integer (JavaScript has one number type; notepack.io writes integral
// numbers as integers). Beyond 2^53 a float stays a float, so that the value
// a decoder sees is exactly f.
func AppendFloat(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return AppendInt(dst, int64(f))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendString appends s as a str.
func AppendString(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

// AppendBin appends b as a bin.
func AppendBin(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
	}
}

// AppendMapHeader appends the header of a map of n entries.
func AppendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
	}
}

// DecodeMsgpack decodes exactly one MessagePack value from b. Strings and
// bins are copied, so the result does not alias b.
func DecodeMsgpack(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMsgpack, len(b)-d.off)
	}
	return v, nil
}

type decoder struct {
	b   []byte
	off int
}

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMsgpack, what, d.off)
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, d.fail("truncated")
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s, nil
}

func (d *decoder) uint(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.fail("nested too deep")
	}
	s, err := d.take(1)
	if err != nil {
		return nil, err
	}
	c := s[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c&0xe0 == 0xa0:
		return d.str(int(c & 0x1f))
	case c&0xf0 == 0x90:
		return d.array(int(c&0x0f), depth)
	case c&0xf0 == 0x80:
		return d.mapping(int(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if v > math.MaxInt64 {
			// Beyond int64 the value is what notepack gives JavaScript: a
			// double. The JSON side reads such integers as doubles too, so
			// a decoded broadcast re-encodes to what it decodes to.
			return float64(v), nil
		}
		return int64(v), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		v, err := d.uint(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size
		return int64(v<<shift) >> shift, nil
	case 0xca:
		v, err := d.uint(4)
		if err != nil {
			return nil, err
		}
		return float64(math.Float32frombits(uint32(v))), nil
	case 0xcb:
		v, err := d.uint(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(v), nil
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(int(min(n, math.MaxInt32)))
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		raw, err := d.take(int(min(n, math.MaxInt32)))
		if err != nil {
			return nil, err
		}
		return append([]byte{}, raw...), nil
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.array(int(min(n, math.MaxInt32)), depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapping(int(min(n, math.MaxInt32)), depth)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(1 << (c - 0xd4))
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(int(min(n, math.MaxInt32)))
	}
	return nil, d.fail(fmt.Sprintf("unknown type byte 0x%02x", c))
}

func (d *decoder) str(n int) (any, error) {
	raw, err := d.take(n)
	if err != nil {
		return nil, err
	}
	return string(raw), nil
}

func (d *decoder) array(n int, depth int) (any, error) {
	// Every element takes at least one byte: refuse counts the input cannot
	// hold before allocating for them.
	if n > len(d.b)-d.off {
		return nil, d.fail("truncated array")
	}
	out := make([]any, n)
	for i := range out {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (d *decoder) mapping(n int, depth int) (any, error) {
	if n > (len(d.b)-d.off)/2 {
		return nil, d.fail("truncated map")
	}
	out := make(Map, n)
	for i := range out {
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[i] = Pair{Key: keyString(k), Value: v}
	}
	return out, nil
}

// keyString is what a JavaScript object makes of a non-string key.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case nil:
		return "null"
	case []byte:
		return string(k)
	default:
		b, _ := AppendJSON(nil, k)
		return string(b)
	}
}

// ext decodes an extension of n data bytes (after its type byte).
func (d *decoder) ext(n int) (any, error) {
	t, err := d.take(1)
	if err != nil {
		return nil, err
	}
	data, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if int8(t[0]) != -1 {
		return nil, nil // undefined, legacy dates, application types
	}
	var ts time.Time
	switch n {
	case 4:
		ts = time.Unix(int64(binary.BigEndian.Uint32(data)), 0)
	case 8:
		v := binary.BigEndian.Uint64(data)
		ts = time.Unix(int64(v&(1<<34-1)), int64(v>>34))
	case 12:
		ts = time.Unix(int64(binary.BigEndian.Uint64(data[4:])), int64(binary.BigEndian.Uint32(data)))
	default:
		return nil, nil
	}
	return ts.UTC().Format(isoMillis), nil
}

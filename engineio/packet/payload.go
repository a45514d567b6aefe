package packet

import "bytes"

// DecodePayload decodes an HTTP long-polling payload (section "Packet
// encoding / HTTP long-polling"): packets separated by 0x1E, binary messages
// as 'b' + base64. It appends the packets to dst and returns it. The payload
// is all or nothing: on the first malformed record it returns dst unchanged
// and an *Error naming the record, so that a server never acts on half of a
// bad request. maxPackets > 0 bounds the number of records (ErrTooManyItems
// beyond it); an empty payload is one empty record, hence ErrEmpty.
//
// Text Data aliases payload.
func DecodePayload(dst []Packet, payload []byte, maxPackets int) ([]Packet, error) {
	start := len(dst)
	off := 0
	for i := 0; ; i++ {
		if maxPackets > 0 && i >= maxPackets {
			return dst[:start], &Error{Index: i, Offset: off, Err: ErrTooManyItems}
		}
		rec := payload[off:]
		end := bytes.IndexByte(rec, Separator)
		if end >= 0 {
			rec = rec[:end]
		}
		p, err := decodeText(rec)
		if err != nil {
			return dst[:start], &Error{Index: i, Offset: off, Err: err}
		}
		dst = append(dst, p)
		if end < 0 {
			return dst, nil
		}
		off += end + 1
	}
}

// AppendPayload appends the polling payload of packets to dst: their text
// encodings (AppendText) joined by 0x1E.
func AppendPayload(dst []byte, packets ...Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, Separator)
		}
		dst = AppendText(dst, p)
	}
	return dst
}

// PayloadLen returns len(AppendPayload(nil, packets...)).
func PayloadLen(packets ...Packet) int {
	n := 0
	for i, p := range packets {
		if i > 0 {
			n++
		}
		n += TextLen(p)
	}
	return n
}

package sioservice

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/socketio/packet"
)

// parseRequest reads {room, event, data} from raw, exactly as
// json.Unmarshal into a request would, without reflection when it can:
// room and event as plain strings, data as raw bytes aliasing raw. Anything
// where encoding/json would do more than copy bytes (an escape in a key or
// string, invalid UTF-8, a key matching only case-insensitively, a room or
// event that is not a string) goes through json.Unmarshal. valid says that
// raw is known to be valid JSON (a decoded packet's argument).
func parseRequest(raw []byte, valid bool) (request, error) {
	var req request
	if !valid && !json.Valid(raw) {
		return req, json.Unmarshal(raw, &req) // the syntax error
	}
	slow := false
	err := packet.ObjectMembers(raw, func(k, v []byte) {
		if slow {
			return
		}
		switch string(k) {
		case `"room"`, `"event"`:
			if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 || !utf8.Valid(v) {
				slow = true
				return
			}
			s := string(v[1 : len(v)-1])
			if k[1] == 'r' {
				req.Room = &s
			} else {
				req.Event = &s
			}
		case `"data"`:
			req.Data = json.RawMessage(v)
		default:
			kk := k[1 : len(k)-1]
			if bytes.IndexByte(kk, '\\') >= 0 || !utf8.Valid(kk) || foldsTo(kk, "room") || foldsTo(kk, "event") || foldsTo(kk, "data") {
				slow = true
			}
		}
	})
	if err != nil || slow {
		req = request{}
		err = json.Unmarshal(raw, &req)
	}
	return req, err
}

// foldsTo reports whether key matches name case-insensitively, as
// encoding/json matches object keys to field names.
func foldsTo(key []byte, name string) bool { return strings.EqualFold(string(key), name) }

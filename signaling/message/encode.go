package message

import (
	"encoding/json"
	"unicode/utf8"
)

// Peer describes a room member in joined frames.
type Peer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ICEServer is one entry of RTCConfiguration.iceServers
// (https://www.w3.org/TR/webrtc/#dom-rtciceserver).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Joined is the server's answer to a join.
type Joined struct {
	ID         string      // the id the server assigned to the joining peer
	Room       string      // the room joined
	Peers      []Peer      // the others already in the room
	ICEServers []ICEServer // for the peer's RTCPeerConnection
}

// AppendJoined appends the joined frame for j to dst.
func AppendJoined(dst []byte, j Joined) []byte {
	dst = append(dst, `{"type":"joined","id":`...)
	dst = appendString(dst, j.ID)
	dst = append(dst, `,"room":`...)
	dst = appendString(dst, j.Room)
	dst = append(dst, `,"peers":[`...)
	for i, p := range j.Peers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = appendString(dst, p.ID)
		dst = append(dst, `,"name":`...)
		dst = appendString(dst, p.Name)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"iceServers":`...)
	ice := j.ICEServers
	if ice == nil {
		ice = []ICEServer{}
	}
	b, _ := json.Marshal(ice) // []ICEServer always marshals
	dst = append(dst, b...)
	return append(dst, '}')
}

// AppendPeerJoined appends {"type":"peer-joined","id":id,"name":name}.
func AppendPeerJoined(dst []byte, id, name string) []byte {
	dst = append(dst, `{"type":"peer-joined","id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, name)
	return append(dst, '}')
}

// AppendPeerLeft appends {"type":"peer-left","id":id}.
func AppendPeerLeft(dst []byte, id string) []byte {
	dst = append(dst, `{"type":"peer-left","id":`...)
	dst = appendString(dst, id)
	return append(dst, '}')
}

// AppendError appends {"type":"error","code":code,"message":msg}.
func AppendError(dst []byte, code Code, msg string) []byte {
	dst = append(dst, `{"type":"error","code":`...)
	dst = appendString(dst, string(code))
	dst = append(dst, `,"message":`...)
	dst = appendString(dst, msg)
	return append(dst, '}')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output is always valid UTF-8 and valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= 0x20:
				dst = append(dst, c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // valid JSON, but not valid JavaScript source
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

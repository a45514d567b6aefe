package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Request is a message of the request channel. Which fields are set depends
// on Type:
//
//	SOCKETS            UID, RequestID, Rooms
//	ALL_ROOMS          UID, RequestID
//	REMOTE_JOIN/LEAVE  UID, Opts, Rooms        (or legacy: RequestID, SID, Room)
//	REMOTE_DISCONNECT  UID, Opts, Close        (or legacy: RequestID, SID)
//	REMOTE_FETCH       UID, RequestID, Opts
//	SERVER_SIDE_EMIT   UID, Data, and RequestID when an ack is wanted
//	BROADCAST (7)      UID, RequestID, Packet, Opts (with flags); MessagePack
type Request struct {
	UID       string
	RequestID string
	Type      RequestType
	Opts      *Opts
	Rooms     []string
	Close     bool
	SID       string
	Room      string
	// Data is the JSON array [event, ...args] of a server-side emit.
	Data   json.RawMessage
	Packet *Packet
}

// jsonOpts is Opts in the JSON requests: rooms and except only.
type jsonOpts struct {
	Rooms  []string `json:"rooms"`
	Except []string `json:"except"`
}

// jsonRequest has the field order of the adapter's JSON.stringify calls.
type jsonRequest struct {
	UID       string          `json:"uid,omitempty"`
	RequestID string          `json:"requestId,omitempty"`
	Type      RequestType     `json:"type"`
	Opts      *jsonOpts       `json:"opts,omitempty"`
	Rooms     []string        `json:"rooms,omitempty"`
	Close     *bool           `json:"close,omitempty"`
	SID       string          `json:"sid,omitempty"`
	Room      string          `json:"room,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// AppendRequest appends the wire form of r: MessagePack for
// BROADCAST, JSON otherwise.
func AppendRequest(dst []byte, r *Request) ([]byte, error) {
	if r.Type == BroadcastWithAck {
		if r.Packet == nil || r.Opts == nil {
			return nil, fmt.Errorf("wire: broadcast request without packet or opts")
		}
		dst = AppendMapHeader(dst, 5)
		dst = AppendString(dst, "uid")
		dst = AppendString(dst, r.UID)
		dst = AppendString(dst, "requestId")
		dst = AppendString(dst, r.RequestID)
		dst = AppendString(dst, "type")
		dst = AppendInt(dst, int64(r.Type))
		dst = AppendString(dst, "packet")
		dst, err := appendPacket(dst, r.Packet)
		if err != nil {
			return nil, err
		}
		dst = AppendString(dst, "opts")
		return appendOpts(dst, r.Opts), nil
	}
	j := jsonRequest{UID: r.UID, RequestID: r.RequestID, Type: r.Type, Rooms: r.Rooms, SID: r.SID, Room: r.Room, Data: r.Data}
	if r.Opts != nil {
		j.Opts = &jsonOpts{Rooms: nonNil(r.Opts.Rooms), Except: nonNil(r.Opts.Except)}
	}
	if r.Type == RemoteDisconnect {
		j.Close = &r.Close
	}
	if r.Type == RemoteJoin || r.Type == RemoteLeave {
		if r.SID == "" {
			j.Rooms = nonNil(r.Rooms)
		}
	}
	return appendMarshal(dst, &j)
}

// DecodeRequest decodes a message of the request channel: JSON when it
// starts with '{', MessagePack otherwise.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) > 0 && b[0] == '{' {
		var j struct {
			UID       string            `json:"uid"`
			RequestID string            `json:"requestId"`
			Type      *RequestType      `json:"type"`
			Opts      *jsonOpts         `json:"opts"`
			Rooms     []json.RawMessage `json:"rooms"`
			Close     bool              `json:"close"`
			SID       string            `json:"sid"`
			Room      json.RawMessage   `json:"room"`
			Data      json.RawMessage   `json:"data"`
		}
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrJSON, err)
		}
		if j.Type == nil {
			return nil, fmt.Errorf("%w: request without type", ErrJSON)
		}
		r := &Request{UID: j.UID, RequestID: j.RequestID, Type: *j.Type, Close: j.Close, SID: j.SID,
			Room: roomString(j.Room), Data: j.Data}
		for _, room := range j.Rooms {
			r.Rooms = append(r.Rooms, roomString(room))
		}
		if j.Opts != nil {
			r.Opts = &Opts{Rooms: j.Opts.Rooms, Except: j.Opts.Except}
		}
		return r, nil
	}
	v, err := DecodeMsgpack(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(Map)
	if !ok {
		return nil, fmt.Errorf("%w: request is not a map", ErrMsgpack)
	}
	r := &Request{}
	r.UID, _ = mapString(m, "uid")
	r.RequestID, _ = mapString(m, "requestId")
	t, _ := m.Get("type")
	typ, ok := t.(int64)
	if !ok {
		return nil, fmt.Errorf("%w: request type %v", ErrMsgpack, t)
	}
	r.Type = RequestType(typ)
	if pv, ok := m.Get("packet"); ok {
		pm, ok := pv.(Map)
		if !ok {
			return nil, fmt.Errorf("%w: request packet is not a map", ErrMsgpack)
		}
		r.Packet = &Packet{}
		if err := decodePacket(pm, r.Packet); err != nil {
			return nil, err
		}
	}
	if ov, ok := m.Get("opts"); ok {
		if om, ok := ov.(Map); ok {
			o := decodeOpts(om)
			r.Opts = &o
		}
	}
	if r.Type == BroadcastWithAck && (r.Packet == nil || r.Opts == nil) {
		return nil, fmt.Errorf("%w: broadcast request without packet or opts", ErrMsgpack)
	}
	return r, nil
}

// roomString reads a room given as a JSON string or number.
func roomString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func mapString(m Map, key string) (string, bool) {
	v, _ := m.Get(key)
	s, ok := v.(string)
	return s, ok
}

// Response is a message of the response channels. Which fields are set
// depends on the request it answers:
//
//	SOCKETS, REMOTE_FETCH     RequestID, Sockets (JSON array)
//	ALL_ROOMS                 RequestID, Rooms
//	legacy REMOTE_JOIN/...    RequestID
//	SERVER_SIDE_EMIT          Type, RequestID, Data (the ack, JSON)
//	BROADCAST_CLIENT_COUNT    Type, RequestID, ClientCount
//	BROADCAST_ACK             Type, RequestID, Ack + AckAttachments; MessagePack
type Response struct {
	Type           RequestType // 0 when absent
	RequestID      string
	Sockets        json.RawMessage
	Rooms          []string
	ClientCount    int
	Data           json.RawMessage
	Ack            json.RawMessage
	AckAttachments [][]byte
}

type jsonResponse struct {
	Type        RequestType     `json:"type,omitempty"`
	RequestID   string          `json:"requestId"`
	Sockets     json.RawMessage `json:"sockets,omitempty"`
	Rooms       *[]string       `json:"rooms,omitempty"`
	ClientCount *int            `json:"clientCount,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// AppendResponse appends the wire form of r: MessagePack for
// BROADCAST_ACK, JSON otherwise.
func AppendResponse(dst []byte, r *Response) ([]byte, error) {
	if r.Type == BroadcastAck {
		ack := json.RawMessage("null")
		if len(r.Ack) > 0 {
			ack = r.Ack
		}
		v, err := FromJSON(ack, r.AckAttachments)
		if err != nil {
			return nil, err
		}
		dst = AppendMapHeader(dst, 3)
		dst = AppendString(dst, "type")
		dst = AppendInt(dst, int64(r.Type))
		dst = AppendString(dst, "requestId")
		dst = AppendString(dst, r.RequestID)
		dst = AppendString(dst, "packet")
		return AppendMsgpack(dst, v)
	}
	j := jsonResponse{Type: r.Type, RequestID: r.RequestID, Sockets: r.Sockets, Data: r.Data}
	if r.Type == 0 && r.Rooms != nil {
		j.Rooms = &r.Rooms
	}
	if r.Type == BroadcastClientCount {
		j.ClientCount = &r.ClientCount
	}
	return appendMarshal(dst, &j)
}

// DecodeResponse decodes a message of the response channels: JSON when it
// starts with '{', MessagePack otherwise.
func DecodeResponse(b []byte) (*Response, error) {
	if len(b) > 0 && b[0] == '{' {
		var j struct {
			Type        RequestType       `json:"type"`
			RequestID   string            `json:"requestId"`
			Sockets     json.RawMessage   `json:"sockets"`
			Rooms       []json.RawMessage `json:"rooms"`
			ClientCount int               `json:"clientCount"`
			Data        json.RawMessage   `json:"data"`
		}
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrJSON, err)
		}
		r := &Response{Type: j.Type, RequestID: j.RequestID, Sockets: j.Sockets, ClientCount: j.ClientCount, Data: j.Data}
		if j.Rooms != nil {
			r.Rooms = make([]string, 0, len(j.Rooms))
			for _, room := range j.Rooms {
				r.Rooms = append(r.Rooms, roomString(room))
			}
		}
		return r, nil
	}
	v, err := DecodeMsgpack(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(Map)
	if !ok {
		return nil, fmt.Errorf("%w: response is not a map", ErrMsgpack)
	}
	r := &Response{}
	r.RequestID, _ = mapString(m, "requestId")
	if t, ok := m.Get("type"); ok {
		if t, ok := t.(int64); ok {
			r.Type = RequestType(t)
		}
	}
	if pv, ok := m.Get("packet"); ok {
		if r.Ack, r.AckAttachments, err = ToJSON(pv); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// FetchedSocket is one socket of a REMOTE_FETCH response.
type FetchedSocket struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
}

// appendMarshal appends the JSON of v as JSON.stringify would write it: no
// HTML escaping, no trailing newline.
func appendMarshal(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	return out[:len(out)-1], nil
}

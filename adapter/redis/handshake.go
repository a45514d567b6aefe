package redisadapter

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/switchboard/switchboard/adapter/redis/wire"
	"github.com/switchboard/switchboard/socketio"
)

// encodeSockets is the "sockets" array of a REMOTE_FETCH response:
// {id, handshake, rooms, data} per socket, data as JSON.
func encodeSockets(infos []socketio.SocketInfo) json.RawMessage {
	out := make([]wire.FetchedSocket, 0, len(infos))
	for _, info := range infos {
		hs, err := json.Marshal(info.Handshake)
		if err != nil {
			hs = json.RawMessage("{}")
		}
		data, err := json.Marshal(info.Data)
		if err != nil {
			data = json.RawMessage("null")
		}
		rooms := info.Rooms
		if rooms == nil {
			rooms = []string{}
		}
		out = append(out, wire.FetchedSocket{ID: info.ID, Handshake: hs, Rooms: rooms, Data: data})
	}
	b, _ := json.Marshal(out)
	return b
}

// decodeHandshake reads the handshake of a socket on another node, as
// socket.io serialises it: headers and query values are strings, or arrays
// of strings for repeated ones.
func decodeHandshake(raw json.RawMessage) socketio.Handshake {
	var j struct {
		Headers map[string]json.RawMessage `json:"headers"`
		Time    string                     `json:"time"`
		Address string                     `json:"address"`
		XDomain bool                       `json:"xdomain"`
		Secure  bool                       `json:"secure"`
		Issued  float64                    `json:"issued"`
		URL     string                     `json:"url"`
		Query   map[string]json.RawMessage `json:"query"`
		Auth    json.RawMessage            `json:"auth"`
	}
	_ = json.Unmarshal(raw, &j) // whatever decodes is kept
	h := socketio.Handshake{Headers: http.Header{}, Query: url.Values{}, Time: j.Time, Address: j.Address,
		XDomain: j.XDomain, Secure: j.Secure, Issued: int64(j.Issued), URL: j.URL, Auth: j.Auth}
	for k, v := range j.Headers {
		h.Headers[http.CanonicalHeaderKey(k)] = stringValues(v)
	}
	for k, v := range j.Query {
		h.Query[k] = stringValues(v)
	}
	return h
}

func stringValues(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return ss
	}
	return []string{string(raw)}
}

package wire

import (
	"encoding/json"
	"fmt"
)

// RequestType is the type of a request or response between nodes
// (RequestType in the adapter's lib/index.ts).
type RequestType int

// Request types. SOCKETS and the by-socket-id forms of REMOTE_JOIN,
// REMOTE_LEAVE and REMOTE_DISCONNECT come from adapters before 7.x and are
// still answered by 8.x.
const (
	Sockets              RequestType = 0
	AllRooms             RequestType = 1
	RemoteJoin           RequestType = 2
	RemoteLeave          RequestType = 3
	RemoteDisconnect     RequestType = 4
	RemoteFetch          RequestType = 5
	ServerSideEmit       RequestType = 6
	BroadcastWithAck     RequestType = 7
	BroadcastClientCount RequestType = 8
	BroadcastAck         RequestType = 9
)

// EventType is the Socket.IO packet type of broadcast events. socket.io
// builds EVENT packets and decides on BINARY_EVENT only when encoding for a
// client, so EVENT is what crosses Redis even with binary data.
const EventType = 2

// Packet is a Socket.IO packet as the adapter carries it: {type, data, nsp}.
// Data is a JSON array whose placeholders refer to Attachments.
type Packet struct {
	Type        int
	Nsp         string
	Data        json.RawMessage
	Attachments [][]byte
}

// Flags are the broadcast flags the adapter forwards (BroadcastFlags).
type Flags struct {
	Volatile bool
	Compress *bool // nil when unset
	Local    bool
	Timeout  int64 // milliseconds, 0 when unset (broadcast with ack)
}

// Opts select the sockets of a broadcast or request: those in any of Rooms
// (all when empty) and in none of Except.
type Opts struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Broadcast is the message published on the broadcast channels.
type Broadcast struct {
	UID    string
	Packet Packet
	Opts   Opts
}

func appendPacket(dst []byte, p *Packet) ([]byte, error) {
	data, err := FromJSON(p.Data, p.Attachments)
	if err != nil {
		return nil, err
	}
	if _, ok := data.([]any); !ok {
		return nil, fmt.Errorf("%w: packet data is not an array", ErrJSON)
	}
	dst = AppendMapHeader(dst, 3)
	dst = AppendString(dst, "type")
	dst = AppendInt(dst, int64(p.Type))
	dst = AppendString(dst, "data")
	if dst, err = AppendMsgpack(dst, data); err != nil {
		return nil, err
	}
	dst = AppendString(dst, "nsp")
	return AppendString(dst, p.Nsp), nil
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = AppendArrayHeader(dst, len(ss))
	for _, s := range ss {
		dst = AppendString(dst, s)
	}
	return dst
}

func appendOpts(dst []byte, o *Opts) []byte {
	dst = AppendMapHeader(dst, 3)
	dst = AppendString(dst, "rooms")
	dst = appendStrings(dst, o.Rooms)
	dst = AppendString(dst, "except")
	dst = appendStrings(dst, o.Except)
	dst = AppendString(dst, "flags")
	var flags Map
	if o.Flags.Volatile {
		flags = append(flags, Pair{"volatile", true})
	}
	if o.Flags.Compress != nil {
		flags = append(flags, Pair{"compress", *o.Flags.Compress})
	}
	if o.Flags.Local {
		flags = append(flags, Pair{"local", true})
	}
	if o.Flags.Timeout > 0 {
		flags = append(flags, Pair{"timeout", o.Flags.Timeout})
	}
	dst, _ = AppendMsgpack(dst, flags) // a Map of bools and ints always encodes
	return dst
}

// AppendBroadcast appends the MessagePack form of m: [uid, packet, opts].
func AppendBroadcast(dst []byte, m *Broadcast) ([]byte, error) {
	dst = AppendArrayHeader(dst, 3)
	dst = AppendString(dst, m.UID)
	dst, err := appendPacket(dst, &m.Packet)
	if err != nil {
		return nil, err
	}
	return appendOpts(dst, &m.Opts), nil
}

// DecodeBroadcast decodes a message of the broadcast channels. A packet
// without nsp belongs to "/", as in the adapter's onmessage.
func DecodeBroadcast(b []byte) (*Broadcast, error) {
	v, err := DecodeMsgpack(b)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 3 {
		return nil, fmt.Errorf("%w: broadcast is not [uid, packet, opts]", ErrMsgpack)
	}
	m := &Broadcast{}
	m.UID, _ = arr[0].(string)
	pm, ok := arr[1].(Map)
	if !ok {
		return nil, fmt.Errorf("%w: broadcast packet is not a map", ErrMsgpack)
	}
	if err := decodePacket(pm, &m.Packet); err != nil {
		return nil, err
	}
	if om, ok := arr[2].(Map); ok {
		m.Opts = decodeOpts(om)
	}
	return m, nil
}

func decodePacket(pm Map, p *Packet) error {
	t, _ := pm.Get("type")
	typ, ok := t.(int64)
	if !ok {
		return fmt.Errorf("%w: packet type %v", ErrMsgpack, t)
	}
	p.Type = int(typ)
	p.Nsp = "/"
	if nsp, ok := pm.Get("nsp"); ok {
		if s, ok := nsp.(string); ok {
			p.Nsp = s
		}
	}
	data, _ := pm.Get("data")
	if _, ok := data.([]any); !ok {
		return fmt.Errorf("%w: packet data is not an array", ErrMsgpack)
	}
	var err error
	p.Data, p.Attachments, err = ToJSON(data)
	return err
}

func stringList(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		switch e := e.(type) {
		case string:
			out = append(out, e)
		case int64, uint64, float64: // numeric rooms are legal in socket.io
			b, _ := AppendJSON(nil, e)
			out = append(out, string(b))
		}
	}
	return out
}

func decodeOpts(om Map) Opts {
	var o Opts
	if v, ok := om.Get("rooms"); ok {
		o.Rooms = stringList(v)
	}
	if v, ok := om.Get("except"); ok {
		o.Except = stringList(v)
	}
	if fm, ok := om.Get("flags"); ok {
		if fm, ok := fm.(Map); ok {
			o.Flags.Volatile = fm.truthy("volatile")
			o.Flags.Local = fm.truthy("local")
			if c, ok := fm.Get("compress"); ok {
				b, _ := c.(bool)
				o.Flags.Compress = &b
			}
			if t, ok := fm.Get("timeout"); ok {
				switch t := t.(type) {
				case int64:
					o.Flags.Timeout = t
				case float64:
					o.Flags.Timeout = int64(t)
				}
			}
		}
	}
	return o
}

func (m Map) truthy(key string) bool {
	v, _ := m.Get(key)
	b, _ := v.(bool)
	return b
}

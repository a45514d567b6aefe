package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

type record struct {
	Channel string `json:"channel"`
	Hex     string `json:"hex"`
	raw     []byte
}

// capture reads testdata/node-capture.jsonl: every message two Node.js
// socket.io 4.8.4 servers with @socket.io/redis-adapter 8.3.0 published
// while test/cluster/capture.mjs exercised each request type.
func capture(t testing.TB) []record {
	t.Helper()
	f, err := os.Open("testdata/node-capture.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.raw, err = hex.DecodeString(r.Hex); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if len(out) < 10 {
		t.Fatalf("capture has %d records", len(out))
	}
	return out
}

// TestNodeCaptureRoundTrip decodes every captured message and encodes it
// again: the bytes must be exactly those the Node.js adapter wrote.
func TestNodeCaptureRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for i, r := range capture(t) {
		var out []byte
		var err error
		var kind string
		switch {
		case strings.HasPrefix(r.Channel, "socket.io#"):
			var m *Broadcast
			if m, err = DecodeBroadcast(r.raw); err == nil {
				out, err = AppendBroadcast(nil, m)
			}
			kind = "broadcast"
		case strings.HasPrefix(r.Channel, "socket.io-request#"):
			var m *Request
			if m, err = DecodeRequest(r.raw); err == nil {
				out, err = AppendRequest(nil, m)
				kind = "request" + string(rune('0'+m.Type))
			}
		case strings.HasPrefix(r.Channel, "socket.io-response#"):
			var m *Response
			if m, err = DecodeResponse(r.raw); err == nil {
				out, err = AppendResponse(nil, m)
				kind = "response" + string(rune('0'+m.Type))
			}
		default:
			t.Fatalf("record %d: unexpected channel %q", i, r.Channel)
		}
		if err != nil {
			t.Fatalf("record %d on %s: %v", i, r.Channel, err)
		}
		if !bytes.Equal(out, r.raw) {
			t.Errorf("record %d on %s (%s) re-encodes differently:\n node: %q\n   go: %q", i, r.Channel, kind, r.raw, out)
		}
		seen[kind] = true
	}
	for _, k := range []string{"broadcast", "request1", "request2", "request3", "request4", "request5", "request6", "request7", "response0", "response6", "response8", "response9"} {
		if !seen[k] {
			t.Errorf("capture has no %s", k)
		}
	}
}

func TestDecodeCapturedBroadcast(t *testing.T) {
	recs := capture(t)
	m, err := DecodeBroadcast(recs[0].raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Packet.Type != EventType || m.Packet.Nsp != "/" || string(m.Packet.Data) != `["hello","world",1,2.5,-7,{"a":[true,null]}]` {
		t.Fatalf("packet %+v data %s", m.Packet, m.Packet.Data)
	}
	m, err = DecodeBroadcast(recs[1].raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Packet.Data) != `["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]` ||
		len(m.Packet.Attachments) != 2 || string(m.Packet.Attachments[0]) != "\x01\x02\x03" || string(m.Packet.Attachments[1]) != "xy" {
		t.Fatalf("binary packet: %s %q", m.Packet.Data, m.Packet.Attachments)
	}
	if len(m.Opts.Rooms) != 1 || m.Opts.Rooms[0] != "room1" {
		t.Fatalf("opts %+v", m.Opts)
	}
	m, err = DecodeBroadcast(recs[2].raw)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Opts.Flags.Volatile || len(m.Opts.Rooms) != 2 || len(m.Opts.Except) != 1 || m.Opts.Except[0] != "room3" {
		t.Fatalf("opts %+v", m.Opts)
	}
}

func TestMsgpackValues(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string // hex
	}{
		{nil, "c0"}, {true, "c3"}, {false, "c2"},
		{int64(0), "00"}, {int64(127), "7f"}, {int64(128), "cc80"}, {int64(256), "cd0100"},
		{int64(65536), "ce00010000"}, {int64(1 << 32), "cf0000000100000000"},
		{int64(-1), "ff"}, {int64(-32), "e0"}, {int64(-33), "d0df"}, {int64(-129), "d1ff7f"},
		{int64(-32769), "d2ffff7fff"}, {int64(math.MinInt64), "d38000000000000000"},
		{uint64(math.MaxUint64), "cfffffffffffffffff"},
		{2.5, "cb4004000000000000"}, {3.0, "03"},
		{"", "a0"}, {"abc", "a3616263"}, {strings.Repeat("x", 32), "d920" + strings.Repeat("78", 32)},
		{[]byte{1, 2}, "c4020102"},
		{[]any{int64(1), "a"}, "9201a161"},
		{Map{{"k", int64(1)}}, "81a16b01"},
	} {
		got, err := AppendMsgpack(nil, tc.v)
		if err != nil {
			t.Fatalf("%v: %v", tc.v, err)
		}
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("encode %#v = %x, want %s", tc.v, got, tc.want)
		}
		back, err := DecodeMsgpack(got)
		if err != nil {
			t.Fatalf("decode %x: %v", got, err)
		}
		j1, _ := AppendJSON(nil, back)
		want := tc.v
		if f, ok := want.(float64); ok && f == math.Trunc(f) {
			want = int64(f)
		}
		if u, ok := want.(uint64); ok && u > math.MaxInt64 {
			want = float64(u) // as JavaScript (notepack, JSON.parse) has it
		}
		j2, _ := AppendJSON(nil, want)
		if !bytes.Equal(j1, j2) {
			t.Errorf("round trip of %#v gave %s", tc.v, j1)
		}
	}
}

func TestMsgpackDecodeSpecial(t *testing.T) {
	for _, tc := range []struct{ in, json string }{
		{"d40000", "null"}, // notepack's undefined
		{"d6ff00000000", `"1970-01-01T00:00:00.000Z"`},                   // timestamp 32
		{"d7ff" + "3b9aca00" + "00000001", `"1970-01-01T00:00:01.250Z"`}, // timestamp 64: 250e6 ns
		{"ca3fc00000", "1.5"},          // float 32
		{"dc0001c3", "[true]"},         // array 16
		{"de0001a161c0", `{"a":null}`}, // map 16
		{"8101c3", `{"1":true}`},       // integer key
		{"d5070102", "null"},           // unknown fixext
	} {
		b, _ := hex.DecodeString(tc.in)
		v, err := DecodeMsgpack(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		j, err := AppendJSON(nil, v)
		if err != nil || string(j) != tc.json {
			t.Errorf("%s decodes to %s (%v), want %s", tc.in, j, err, tc.json)
		}
	}
}

func TestMsgpackDecodeErrors(t *testing.T) {
	for _, in := range []string{"", "c1", "a3616", "92c0", "dd7fffffff", "df7fffffff", "c6ffffffff", "c0c0", "d9", "cb0000"} {
		b, _ := hex.DecodeString(in)
		if _, err := DecodeMsgpack(b); !errors.Is(err, ErrMsgpack) {
			t.Errorf("%q: err = %v, want ErrMsgpack", in, err)
		}
	}
	deep := bytes.Repeat([]byte{0x91}, maxDepth+2)
	if _, err := DecodeMsgpack(append(deep, 0xc0)); !errors.Is(err, ErrMsgpack) {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestJSONConversion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		atts [][]byte
		out  string // JSON back, "" = same as in
	}{
		{in: `["a",1,-2,2.5,true,false,null,{"z":1,"a":[{}]}]`},
		{in: `[1.0,1e3,-0,1e300]`, out: `[1,1000,0,1e+300]`},
		{in: `["x",{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}]`, atts: [][]byte{{1}, {2}},
			out: `["x",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]`},
		{in: `["<&>\u2028","\u0001\n\"\\"]`, out: "[\"<&>\u2028\",\"\\u0001\\n\\\"\\\\\"]"},
		{in: `[18446744073709551615]`, out: `[18446744073709552000]`},
	} {
		v, err := FromJSON([]byte(tc.in), tc.atts)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		mp, err := AppendMsgpack(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeMsgpack(mp)
		if err != nil {
			t.Fatal(err)
		}
		out, atts, err := ToJSON(back)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.out
		if want == "" {
			want = tc.in
		}
		if string(out) != want {
			t.Errorf("%s -> %s, want %s", tc.in, out, want)
		}
		if len(atts) != len(tc.atts) {
			t.Errorf("%s: %d attachments", tc.in, len(atts))
		}
	}
	for _, bad := range []string{`[`, `[1]x`, `[{"_placeholder":true,"num":5}]`, `[{"_placeholder":true}]`, `{"a":}`} {
		if _, err := FromJSON([]byte(bad), nil); !errors.Is(err, ErrJSON) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

func TestBroadcastEncode(t *testing.T) {
	yes := true
	m := &Broadcast{UID: "abc", Packet: Packet{Type: EventType, Nsp: "/chat", Data: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}},
		Opts: Opts{Rooms: []string{"r"}, Except: []string{"x"}, Flags: Flags{Volatile: true, Compress: &yes}}}
	b, err := AppendBroadcast(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBroadcast(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != "abc" || got.Packet.Nsp != "/chat" || string(got.Packet.Data) != string(m.Packet.Data) || got.Packet.Attachments[0][0] != 7 ||
		!got.Opts.Flags.Volatile || got.Opts.Flags.Compress == nil || !*got.Opts.Flags.Compress || got.Opts.Rooms[0] != "r" || got.Opts.Except[0] != "x" {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := AppendBroadcast(nil, &Broadcast{Packet: Packet{Data: json.RawMessage(`{}`)}}); err == nil {
		t.Fatal("non-array data accepted")
	}
	// No nsp means "/".
	raw, _ := AppendMsgpack(nil, []any{"u", Map{{"type", int64(2)}, {"data", []any{"e"}}}, Map{}})
	got, err = DecodeBroadcast(raw)
	if err != nil || got.Packet.Nsp != "/" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]any{{"u"}, {"u", "p", Map{}}, {"u", Map{{"type", "x"}}, Map{}}, {"u", Map{{"type", int64(2)}, {"data", "x"}}, Map{}}} {
		raw, _ := AppendMsgpack(nil, bad)
		if _, err := DecodeBroadcast(raw); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestRequestsAndResponses(t *testing.T) {
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{Request{UID: "u", RequestID: "q", Type: RemoteFetch, Opts: &Opts{Rooms: []string{"a"}}}, `{"uid":"u","requestId":"q","type":5,"opts":{"rooms":["a"],"except":[]}}`},
		{Request{UID: "u", RequestID: "q", Type: AllRooms}, `{"uid":"u","requestId":"q","type":1}`},
		{Request{UID: "u", Type: RemoteJoin, Opts: &Opts{}, Rooms: []string{"r"}}, `{"uid":"u","type":2,"opts":{"rooms":[],"except":[]},"rooms":["r"]}`},
		{Request{UID: "u", Type: RemoteDisconnect, Opts: &Opts{}}, `{"uid":"u","type":4,"opts":{"rooms":[],"except":[]},"close":false}`},
		{Request{UID: "u", Type: ServerSideEmit, Data: json.RawMessage(`["e","<a&b>"]`)}, `{"uid":"u","type":6,"data":["e","<a&b>"]}`},
	} {
		b, err := AppendRequest(nil, &tc.r)
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v encodes to %s (%v), want %s", tc.r, b, err, tc.want)
		}
		back, err := DecodeRequest(b)
		if err != nil || back.Type != tc.r.Type || back.UID != "u" {
			t.Errorf("%s decodes to %+v (%v)", b, back, err)
		}
	}
	// Numeric rooms and legacy by-id requests.
	r, err := DecodeRequest([]byte(`{"uid":"u","requestId":"q","type":2,"sid":"s1","room":42}`))
	if err != nil || r.SID != "s1" || r.Room != "42" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{`{"uid":"u"}`, `{"type":"x"}`, `{`, "\x81\xa4type\x07", "\x90"} {
		if _, err := DecodeRequest([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

	cc := &Response{Type: BroadcastClientCount, RequestID: "q", ClientCount: 0}
	b, _ := AppendResponse(nil, cc)
	if string(b) != `{"type":8,"requestId":"q","clientCount":0}` {
		t.Errorf("client count: %s", b)
	}
	ack := &Response{Type: BroadcastAck, RequestID: "q", Ack: json.RawMessage(`{"b":{"_placeholder":true,"num":0}}`), AckAttachments: [][]byte{{5}}}
	b, err = AppendResponse(nil, ack)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeResponse(b)
	if err != nil || back.Type != BroadcastAck || string(back.Ack) != string(ack.Ack) || back.AckAttachments[0][0] != 5 {
		t.Fatalf("%+v %v", back, err)
	}
	b, _ = AppendResponse(nil, &Response{Type: BroadcastAck, RequestID: "q"})
	if back, err := DecodeResponse(b); err != nil || string(back.Ack) != "null" {
		t.Fatalf("empty ack: %+v %v", back, err)
	}
	b, _ = AppendResponse(nil, &Response{RequestID: "q", Rooms: []string{}})
	if string(b) != `{"requestId":"q","rooms":[]}` {
		t.Errorf("rooms: %s", b)
	}
}

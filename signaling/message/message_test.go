package message

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := []struct {
		name string
		in   string
		want Message // members ignored
		code Code    // "" when the frame is valid
	}{
		{"join", `{"type":"join","room":"r1","name":"Ann"}`, Message{Type: TypeJoin, Room: "r1", Name: "Ann"}, ""},
		{"join without name", `{"type":"join","room":"r1"}`, Message{Type: TypeJoin, Room: "r1"}, ""},
		{"join with token", `{"type":"join","room":"r1","token":"abc.def"}`, Message{Type: TypeJoin, Room: "r1", Token: "abc.def"}, ""},
		{"join escaped", `{"type":"join","room":"caf\u00e9 \"x\"","name":"A\/B"}`, Message{Type: TypeJoin, Room: `café "x"`, Name: "A/B"}, ""},
		{"join whitespace", " {\n\t\"type\" : \"join\" ,\r\n \"room\" : \"r\" } ", Message{Type: TypeJoin, Room: "r"}, ""},
		{"join unknown member ignored", `{"type":"join","room":"r","x":[1,{"y":"}"}]}`, Message{Type: TypeJoin, Room: "r"}, ""},
		{"join escaped key", `{"\u0074ype":"join","room":"r"}`, Message{Type: TypeJoin, Room: "r"}, ""},
		{"join no room", `{"type":"join","name":"x"}`, Message{}, CodeBadRequest},
		{"join empty room", `{"type":"join","room":""}`, Message{}, CodeBadRequest},
		{"join long room", `{"type":"join","room":"` + long + `"}`, Message{}, CodeBadRequest},
		{"join long name", `{"type":"join","room":"r","name":"` + long + `"}`, Message{}, CodeBadRequest},
		{"join room number", `{"type":"join","room":5}`, Message{}, CodeBadRequest},
		{"join name null", `{"type":"join","room":"r","name":null}`, Message{}, CodeBadRequest},
		{"join room control", `{"type":"join","room":"a\nb"}`, Message{}, CodeBadRequest},
		{"join token number", `{"type":"join","room":"r","token":1}`, Message{}, CodeBadRequest},
		{"join long token", `{"type":"join","room":"r","token":"` + strings.Repeat("t", MaxTokenLen+1) + `"}`, Message{}, CodeBadRequest},
		{"leave", `{"type":"leave"}`, Message{Type: TypeLeave}, ""},
		{"offer", `{"type":"offer","to":"p1","sdp":"v=0\r\n"}`, Message{Type: TypeOffer, To: "p1"}, ""},
		{"answer", `{"type":"answer","to":"A-b_9","sdp":"v=0"}`, Message{Type: TypeAnswer, To: "A-b_9"}, ""},
		{"candidate", `{"type":"candidate","to":"p1","candidate":{"candidate":"","sdpMid":"0"}}`, Message{Type: TypeCandidate, To: "p1"}, ""},
		{"offer no to", `{"type":"offer","sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"offer to number", `{"type":"offer","to":1,"sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"offer to bad id", `{"type":"offer","to":"a b","sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"offer to long id", `{"type":"offer","to":"` + long + `","sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"offer empty to", `{"type":"offer","to":"","sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"offer no sdp", `{"type":"offer","to":"p1"}`, Message{}, CodeBadRequest},
		{"offer empty sdp", `{"type":"offer","to":"p1","sdp":""}`, Message{}, CodeBadRequest},
		{"offer sdp object", `{"type":"offer","to":"p1","sdp":{}}`, Message{}, CodeBadRequest},
		{"offer with from", `{"type":"offer","to":"p1","from":"p2","sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"candidate string", `{"type":"candidate","to":"p1","candidate":"x"}`, Message{}, CodeBadRequest},
		{"candidate null", `{"type":"candidate","to":"p1","candidate":null}`, Message{}, CodeBadRequest},
		{"duplicate to", `{"type":"offer","to":"p1","to":"p2","sdp":"v=0"}`, Message{}, CodeBadRequest},
		{"duplicate escaped type", `{"type":"leave","\u0074ype":"join","room":"r"}`, Message{}, CodeBadRequest},
		{"no type", `{"room":"r"}`, Message{}, CodeBadRequest},
		{"type number", `{"type":1}`, Message{}, CodeBadRequest},
		{"unknown type", `{"type":"dance"}`, Message{}, CodeUnknownType},
		{"server type", `{"type":"joined"}`, Message{}, CodeUnknownType},
		{"array", `[{"type":"leave"}]`, Message{}, CodeBadRequest},
		{"string", `"leave"`, Message{}, CodeBadRequest},
		{"empty object", `{}`, Message{}, CodeBadRequest},
		{"not json", `{"type":"leave"`, Message{}, CodeBadJSON},
		{"empty", ``, Message{}, CodeBadJSON},
		{"trailing", `{"type":"leave"} x`, Message{}, CodeBadJSON},
		{"invalid utf-8", "{\"type\":\"join\",\"room\":\"\xff\"}", Message{}, CodeBadJSON},
		{"two objects", `{"type":"leave"}{"type":"leave"}`, Message{}, CodeBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.code != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("Decode(%s) = %+v, %v; want code %s", tt.in, got, err, tt.code)
				}
				if e.Message == "" {
					t.Fatalf("error %v has no message", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.in, err)
			}
			if got.Type != tt.want.Type || got.Room != tt.want.Room || got.Name != tt.want.Name || got.Token != tt.want.Token || got.To != tt.want.To {
				t.Fatalf("Decode(%s) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendRelay(t *testing.T) {
	tests := []struct {
		in, from, want string
	}{
		{`{"type":"offer","to":"p1","sdp":"v=0\r\n"}`, "me", `{"type":"offer","from":"me","sdp":"v=0\r\n"}`},
		{`{"to":"p1","type":"answer","sdp":"x","extra":[1, 2,{"a" : "b"}],"n":1.5e3}`, "me",
			`{"from":"me","type":"answer","sdp":"x","extra":[1, 2,{"a" : "b"}],"n":1.5e3}`},
		{` { "type" : "candidate" , "candidate" : {"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMLineIndex":0} , "to" : "p1" } `, "Z_z-9",
			`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMLineIndex":0},"from":"Z_z-9"}`},
		{`{"type":"offer","\u0074o":"p1","sdp":"v=0","k\"ey":true}`, "me", `{"type":"offer","from":"me","sdp":"v=0","k\"ey":true}`},
	}
	for _, tt := range tests {
		m, err := Decode([]byte(tt.in))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tt.in, err)
		}
		if got := string(m.AppendRelay(nil, tt.from)); got != tt.want {
			t.Errorf("AppendRelay(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

func TestServerFrames(t *testing.T) {
	tests := []struct {
		got  []byte
		want string
	}{
		{AppendJoined(nil, Joined{ID: "a", Room: "r"}), `{"type":"joined","id":"a","room":"r","peers":[],"iceServers":[]}`},
		{AppendJoined(nil, Joined{ID: "a", Room: "r", Peers: []Peer{{"b", "Bo"}, {"c", ""}},
			ICEServers: []ICEServer{{URLs: []string{"stun:h:3478"}}, {URLs: []string{"turn:h:3478"}, Username: "1:a", Credential: "x/y="}}}),
			`{"type":"joined","id":"a","room":"r","peers":[{"id":"b","name":"Bo"},{"id":"c","name":""}],"iceServers":[{"urls":["stun:h:3478"]},{"urls":["turn:h:3478"],"username":"1:a","credential":"x/y="}]}`},
		{AppendPeerJoined(nil, "b", "Bo \"the\" <b>"), `{"type":"peer-joined","id":"b","name":"Bo \"the\" <b>"}`},
		{AppendPeerLeft(nil, "b"), `{"type":"peer-left","id":"b"}`},
		{AppendError(nil, CodeRoomFull, "room r is full\n"), `{"type":"error","code":"room_full","message":"room r is full\n"}`},
		{AppendError(nil, CodeBadRequest, "bad \xff\x01\u2028"), `{"type":"error","code":"bad_request","message":"bad \ufffd\u0001\u2028"}`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
		if !json.Valid(tt.got) {
			t.Errorf("invalid JSON: %s", tt.got)
		}
	}
}

func TestCodeOf(t *testing.T) {
	_, err := Decode([]byte(`{"type":"x"}`))
	if got := CodeOf(err); got != CodeUnknownType {
		t.Fatalf("CodeOf = %s", got)
	}
	if got := CodeOf(errors.New("x")); got != CodeInternal {
		t.Fatalf("CodeOf(plain) = %s", got)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"a": true, "A-z_09": true, "": false, "a b": false, "é": false, strings.Repeat("x", MaxIDLen): true, strings.Repeat("x", MaxIDLen+1): false} {
		if ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}

func BenchmarkDecodeRelay(b *testing.B) {
	frame := []byte(`{"type":"candidate","to":"p1","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0","sdpMid":"0","sdpMLineIndex":0}}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Decode(frame)
		if err != nil {
			b.Fatal(err)
		}
		buf = m.AppendRelay(buf[:0], "sender")
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"", true},
		{"Alice", true},
		{"Zoë 🎧", true},
		{strings.Repeat("n", MaxNameLen), true},
		{strings.Repeat("n", MaxNameLen+1), false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // C1 control
		{"\xff", false},
	} {
		if got := ValidName(tc.name); got != tc.want {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

package packet

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Encoding cases from packages/socket.io-parser/test/parser.js and the
// examples of the socket.io-protocol specification.
func TestAppendHeader(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"connect main", Packet{Type: Connect}, "0"},
		{"connect with auth", Packet{Type: Connect, Namespace: "/woot", Data: json.RawMessage(`{"token":"123"}`)}, `0/woot,{"token":"123"}`},
		{"connect reply", Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{"sid":"abc"}`)}, `0{"sid":"abc"}`},
		{"disconnect", Packet{Type: Disconnect, Namespace: "/woot"}, "1/woot,"},
		{"event", Packet{Type: Event, Data: json.RawMessage(`["a",1,{}]`)}, `2["a",1,{}]`},
		{"event int name", Packet{Type: Event, Data: json.RawMessage(`[1,"a",{}]`)}, `2[1,"a",{}]`},
		{"event with ack", Packet{Type: Event, Namespace: "/test", ID: 1, HasID: true, Data: json.RawMessage(`["a",1,{}]`)}, `2/test,1["a",1,{}]`},
		{"ack", Packet{Type: Ack, ID: 123, HasID: true, Data: json.RawMessage(`["a",1,{}]`)}, `3123["a",1,{}]`},
		{"ack id zero", Packet{Type: Ack, ID: 0, HasID: true, Data: json.RawMessage(`[]`)}, `30[]`},
		{"connect error", Packet{Type: ConnectError, Data: json.RawMessage(`"Unauthorized"`)}, `4"Unauthorized"`},
		{"connect error object", Packet{Type: ConnectError, Namespace: "/random", Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
		{"binary event", Packet{Type: Event, Namespace: "/cool", ID: 23, HasID: true, Data: json.RawMessage(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{[]byte("abc")}}, `51-/cool,23["a",{"_placeholder":true,"num":0}]`},
		{"binary ack", Packet{Type: Ack, Namespace: "/back", ID: 127, HasID: true, Data: json.RawMessage(`["a",{"_placeholder":true,"num":0},{}]`), Attachments: [][]byte{[]byte("xxx")}}, `61-/back,127["a",{"_placeholder":true,"num":0},{}]`},
		{"binary event zero attachments", Packet{Type: BinaryEvent, Data: json.RawMessage(`["a"]`)}, `50-["a"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendHeader(nil, &tt.p))
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		in   string
		want Packet
	}{
		{"0", Packet{Type: Connect}},

		{`0{"token":"123"}`, Packet{Type: Connect, Data: json.RawMessage(`{"token":"123"}`)}},
		{`0/custom,`, Packet{Type: Connect, Namespace: "/custom"}},
		{`0/custom`, Packet{Type: Connect, Namespace: "/custom"}},
		{`0/custom,{"token":"abc"}`, Packet{Type: Connect, Namespace: "/custom", Data: json.RawMessage(`{"token":"abc"}`)}},
		{"1", Packet{Type: Disconnect}},
		{"1/custom", Packet{Type: Disconnect, Namespace: "/custom"}},
		{`2["message",1,"2",{"3":[true]}]`, Packet{Type: Event, Data: json.RawMessage(`["message",1,"2",{"3":[true]}]`)}},
		{`2456["message-with-ack",1,"2",{"3":[false]}]`, Packet{Type: Event, ID: 456, HasID: true, Data: json.RawMessage(`["message-with-ack",1,"2",{"3":[false]}]`)}},
		{`2/test,1["a",1,{}]`, Packet{Type: Event, Namespace: "/test", ID: 1, HasID: true, Data: json.RawMessage(`["a",1,{}]`)}},
		{`2[1,"a",{}]`, Packet{Type: Event, Data: json.RawMessage(`[1,"a",{}]`)}},
		{`2[-1.5]`, Packet{Type: Event, Data: json.RawMessage(`[-1.5]`)}},
		{`2["\u0063onnected"]`, Packet{Type: Event, Data: json.RawMessage(`["\u0063onnected"]`)}},
		{"2", Packet{Type: Event}},
		{`3123["a",1,{}]`, Packet{Type: Ack, ID: 123, HasID: true, Data: json.RawMessage(`["a",1,{}]`)}},
		{`3/admin,0[]`, Packet{Type: Ack, Namespace: "/admin", ID: 0, HasID: true, Data: json.RawMessage(`[]`)}},
		{`4"Unauthorized"`, Packet{Type: ConnectError, Data: json.RawMessage(`"Unauthorized"`)}},
		{`4{"message":"x","data":{"a":1}}`, Packet{Type: ConnectError, Data: json.RawMessage(`{"message":"x","data":{"a":1}}`)}},
		{`50-["hello"]`, Packet{Type: BinaryEvent, Data: json.RawMessage(`["hello"]`)}},
		{`2["a"] `, Packet{Type: Event, Data: json.RawMessage(`["a"]`)}},
		{`2/a,b,["x"]`, Packet{Type: Event, Namespace: "/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Decoder
			p, err := d.Decode([]byte(tt.in), false)
			if tt.want.Namespace == "/a" { // "b,[" is not JSON
				if err == nil {
					t.Fatalf("accepted %q", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if p == nil {
				t.Fatalf("Decode(%q) returned no packet", tt.in)
			}
			if !reflect.DeepEqual(*p, tt.want) {
				t.Fatalf("Decode(%q) = %+v, want %+v", tt.in, *p, tt.want)
			}
		})
	}
}

// Rejections from "throw an error upon parsing error" and "decodes a bad
// binary packet" in packages/socket.io-parser/test/parser.js, and the invalid
// formats of the socket.io-protocol test suite.
func TestDecodeInvalid(t *testing.T) {
	tests := []struct{ in, reason string }{
		{`442["some","data"`, "invalid payload"},
		{`0/admin,"invalid"`, "invalid payload"},
		{"0[]", "invalid payload"},
		{"0null", "invalid payload"},
		{"1/admin,{}", "invalid payload"},
		{`2/admin,"invalid`, "invalid payload"},
		{"2/admin,{}", "invalid payload"},
		{`2[{"toString":"foo"}]`, "invalid payload"},
		{`2[true,"foo"]`, "invalid payload"},
		{`2[null,"bar"]`, "invalid payload"},
		{`2["connect"]`, "invalid payload"},
		{`2["disconnect","123"]`, "invalid payload"},
		{`2["\u0063onnect"]`, "invalid payload"},
		{`2[]`, "invalid payload"},
		{`2{}`, "invalid payload"},

		{`2abc["message-with-ack",1]`, "invalid payload"},
		{`3{}`, "invalid payload"},
		{`4[]`, "invalid payload"},
		{"5", "illegal attachments"},
		{"51", "illegal attachments"},
		{"5a-", "illegal attachments"},
		{"51.23-", "illegal attachments"},
		{"5-", "illegal attachments"},
		{`511-["a"]`, "too many attachments"},
		{"599999999999-", "illegal attachments"},
		{"999", "unknown packet type"},
		{"abc", "unknown packet type"},
		{"", "empty packet"},
		{"7", "unknown packet type"},
		{`2123456789012345678901["a"]`, "ack id out of range"},
		{`012{}`, "ack id on a packet that cannot carry one"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Decoder
			p, err := d.Decode([]byte(tt.in), false)
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want error %q", tt.in, p, tt.reason)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if want := "socket.io packet: invalid: " + tt.reason; err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
			if d.Pending() {
				t.Fatal("decoder pending after error")
			}
		})
	}
}

func TestDecodeMaxAttachments(t *testing.T) {
	d := Decoder{MaxAttachments: 2}
	_, err := d.Decode([]byte(`53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`), false)
	if err == nil || err.Error() != "socket.io packet: invalid: too many attachments" {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeBinary(t *testing.T) {
	var d Decoder
	hdr := `52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`
	buf := []byte{1, 2, 3}
	p, err := d.Decode([]byte(hdr), false)
	if p != nil || err != nil || !d.Pending() {
		t.Fatalf("header: %v %v", p, err)
	}
	if p, err = d.Decode(buf, true); p != nil || err != nil {
		t.Fatalf("first attachment: %v %v", p, err)
	}
	buf[0] = 9 // the decoder must have copied
	if p, err = d.Decode([]byte{4, 5, 6}, true); p == nil || err != nil {
		t.Fatalf("second attachment: %v %v", p, err)
	}
	want := Packet{Type: BinaryEvent, ID: 789, HasID: true,
		Data:        json.RawMessage(`["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
		Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}}}
	if !reflect.DeepEqual(*p, want) {
		t.Fatalf("got %+v, want %+v", *p, want)
	}
	// Re-encoding gives the header back (the ack of the test suite answers
	// with the same placeholders).
	if got := string(AppendHeader(nil, p)); got != hdr {
		t.Fatalf("re-encoded %q, want %q", got, hdr)
	}
}

// Cases from packages/socket.io-parser/test/buffer.js.
func TestDecodeBinaryErrors(t *testing.T) {
	tests := []struct {
		name   string
		msgs   []string // "b:" prefix = binary
		reason string
	}{
		{"num is a string", []string{`51-["hello",{"_placeholder":true,"num":"splice"}]`, "b:world"}, "illegal attachments"},
		{"num out of bounds", []string{`51-["hello",{"_placeholder":true,"num":1}]`, "b:world"}, "illegal attachments"},
		{"num negative", []string{`51-["hello",{"_placeholder":true,"num":-1}]`, "b:world"}, "illegal attachments"},
		{"num fraction", []string{`51-["hello",{"_placeholder":true,"num":0.5}]`, "b:world"}, "illegal attachments"},
		{"nested bad num", []string{`51-["hello",{"a":[{"_placeholder":true}]}]`, "b:world"}, "illegal attachments"},
		{"binary without header", []string{"b:world"}, "got binary data when not reconstructing a packet"},
		{"text while reconstructing", []string{`51-["hello",{"_placeholder":true,"num":0}]`, `2["hello"]`}, "got plaintext data when reconstructing a packet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var err error
			for _, m := range tt.msgs {
				if b, ok := bytes.CutPrefix([]byte(m), []byte("b:")); ok {
					_, err = d.Decode(b, true)
				} else {
					_, err = d.Decode([]byte(m), false)
				}
				if err != nil {
					break
				}
			}
			if err == nil || err.Error() != "socket.io packet: invalid: "+tt.reason {
				t.Fatalf("err = %v, want %q", err, tt.reason)
			}
			// "should resume decoding after an error"
			p, err := d.Decode([]byte(`2["hello"]`), false)
			if err != nil || p == nil {
				t.Fatalf("decoder did not recover: %v %v", p, err)
			}
		})
	}
}

func TestPlaceholderIgnoredInPlainEvent(t *testing.T) {
	// A plain EVENT is not reconstructed, so a placeholder-like object is data.
	var d Decoder
	p, err := d.Decode([]byte(`2["a",{"_placeholder":true,"num":"x"}]`), false)
	if err != nil || p == nil {
		t.Fatalf("got %v %v", p, err)
	}
}

func TestUnquoteString(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"message"`, "message", true},
		{`""`, "", true},
		{`"a\"b"`, `a"b`, true},
		{`"\u0063onnect"`, "connect", true},
		{`"é"`, "é", true},
		{"\"a\xffb\"", "a\ufffdb", true},
		{`1`, "", false},
		{`"`, "", false},
	}
	for _, tt := range tests {
		got, ok := UnquoteString([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("UnquoteString(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

package packet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Packet
		err  error
	}{
		// Section "Protocol": the seven types, with and without data.
		{"open", `0{"sid":"x"}`, Packet{Type: Open, Data: []byte(`{"sid":"x"}`)}, nil},
		{"close", "1", Packet{Type: Close}, nil},
		{"ping", "2", Packet{Type: Ping}, nil},
		{"ping probe", "2probe", Packet{Type: Ping, Data: []byte("probe")}, nil},
		{"pong probe", "3probe", Packet{Type: Pong, Data: []byte("probe")}, nil},
		{"message", "4hello", Packet{Type: Message, Data: []byte("hello")}, nil},
		{"empty message", "4", Packet{Type: Message}, nil},
		{"utf8 message", "4€ü", Packet{Type: Message, Data: []byte("€ü")}, nil},
		{"upgrade", "5", Packet{Type: Upgrade}, nil},
		{"noop", "6", Packet{Type: Noop}, nil},
		// Section "Packet encoding": 'b' + base64 is a binary message.
		{"binary", "bAQIDBA==", Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}, nil},
		{"empty binary", "b", Packet{Type: Message, Data: []byte{}, Binary: true}, nil},
		{"empty", "", Packet{}, ErrEmpty},
		{"type 7", "7", Packet{}, ErrUnknownType},
		{"type letter", "abc", Packet{}, ErrUnknownType},
		{"type below zero", "/", Packet{}, ErrUnknownType},
		{"type separator", "\x1e", Packet{}, ErrUnknownType},
		{"bad base64", "b!!!!", Packet{}, ErrBase64},
		{"base64 no padding", "bAQIDBA", Packet{}, ErrBase64},
		{"base64 bad padding bits", "bAR==", Packet{}, ErrBase64},
		{"base64 newline", "bAQID\nBA==", Packet{}, ErrBase64},
		{"invalid utf8", "4\xff", Packet{}, ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeText([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("DecodeText(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %T is not *Error", err)
				}
				return
			}
			if got.Type != tt.want.Type || got.Binary != tt.want.Binary || !bytes.Equal(got.Data, tt.want.Data) {
				t.Fatalf("DecodeText(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeBinary(t *testing.T) {
	in := []byte{1, 2, 3, 4}
	p := DecodeBinary(in)
	if p.Type != Message || !p.Binary || !bytes.Equal(p.Data, in) {
		t.Fatalf("DecodeBinary = %+v", p)
	}
}

func TestAppendText(t *testing.T) {
	tests := []struct {
		in   Packet
		want string
	}{
		{Packet{Type: Open, Data: []byte(`{}`)}, "0{}"},
		{Packet{Type: Close}, "1"},
		{Packet{Type: Ping}, "2"},
		{Packet{Type: Pong, Data: []byte("probe")}, "3probe"},
		{Packet{Type: Message, Data: []byte("hello")}, "4hello"},
		{Packet{Type: Upgrade}, "5"},
		{Packet{Type: Noop}, "6"},
		{Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}, "bAQIDBA=="},
		{Packet{Type: Message, Binary: true}, "b"},
	}
	for _, tt := range tests {
		got := AppendText([]byte("x"), tt.in)
		if string(got) != "x"+tt.want {
			t.Errorf("AppendText(%+v) = %q, want %q", tt.in, got[1:], tt.want)
		}
		if n := TextLen(tt.in); n != len(tt.want) {
			t.Errorf("TextLen(%+v) = %d, want %d", tt.in, n, len(tt.want))
		}
	}
}

func TestAppendTextPanics(t *testing.T) {
	for _, p := range []Packet{{Type: 7}, {Type: Ping, Binary: true}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendText(%+v) did not panic", p)
				}
			}()
			AppendText(nil, p)
		}()
	}
}

func TestTypeString(t *testing.T) {
	if Message.String() != "message" || Noop.String() != "noop" || Type(9).String() != "Type(9)" {
		t.Fatal("unexpected Type.String")
	}
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		max   int
		want  []Packet
		err   error
		index int
		off   int
	}{
		// The examples of section "Packet encoding / HTTP long-polling".
		{name: "spec example", in: "4hello\x1e2\x1e4world", want: []Packet{
			{Type: Message, Data: []byte("hello")}, {Type: Ping}, {Type: Message, Data: []byte("world")}}},
		{name: "spec binary example", in: "4hello\x1ebAQIDBA==", want: []Packet{
			{Type: Message, Data: []byte("hello")}, {Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}}},
		{name: "single", in: "4hello", want: []Packet{{Type: Message, Data: []byte("hello")}}},
		{name: "close", in: "1", want: []Packet{{Type: Close}}},
		{name: "test suite three", in: "4test1\x1e4test2\x1e4test3", want: []Packet{
			{Type: Message, Data: []byte("test1")}, {Type: Message, Data: []byte("test2")}, {Type: Message, Data: []byte("test3")}}},
		{name: "empty payload", in: "", err: ErrEmpty},
		{name: "trailing separator", in: "4a\x1e", err: ErrEmpty, index: 1, off: 3},
		{name: "empty record", in: "4a\x1e\x1e4b", err: ErrEmpty, index: 1, off: 3},
		{name: "leading separator", in: "\x1e4a", err: ErrEmpty},
		{name: "bad second", in: "4a\x1ex", err: ErrUnknownType, index: 1, off: 3},
		{name: "bad base64", in: "4a\x1e2\x1eb%%", err: ErrBase64, index: 2, off: 5},
		{name: "invalid packet", in: "abc", err: ErrUnknownType},
		{name: "max ok", in: "2\x1e3", max: 2, want: []Packet{{Type: Ping}, {Type: Pong}}},
		{name: "max exceeded", in: "2\x1e3\x1e4", max: 2, err: ErrTooManyItems, index: 2, off: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []Packet{{Type: Noop}}
			got, err := DecodePayload(prefix, []byte(tt.in), tt.max)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Index != tt.index || pe.Offset != tt.off {
					t.Fatalf("error = %#v, want index %d offset %d", err, tt.index, tt.off)
				}
				if len(got) != 1 {
					t.Fatalf("dst grew on error: %d packets", len(got))
				}
				if !strings.Contains(err.Error(), "packet") {
					t.Fatalf("error text %q", err)
				}
				return
			}
			got = got[1:]
			if len(got) != len(tt.want) {
				t.Fatalf("got %d packets, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Type != tt.want[i].Type || got[i].Binary != tt.want[i].Binary || !bytes.Equal(got[i].Data, tt.want[i].Data) {
					t.Errorf("packet %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
			enc := AppendPayload(nil, got...)
			if string(enc) != tt.in {
				t.Errorf("AppendPayload = %q, want %q", enc, tt.in)
			}
			if PayloadLen(got...) != len(tt.in) {
				t.Errorf("PayloadLen = %d, want %d", PayloadLen(got...), len(tt.in))
			}
		})
	}
}

func TestDecodePayloadTextAliasesInput(t *testing.T) {
	in := []byte("4hello")
	got, err := DecodePayload(nil, in, 0)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 'j'
	if string(got[0].Data) != "jello" {
		t.Fatalf("text Data does not alias the input: %q", got[0].Data)
	}
}

func TestDecodeTextAllocs(t *testing.T) {
	in := []byte("4hello world")
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeText(in); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("DecodeText of a text packet allocates %v times, want 0", n)
	}
	buf := make([]byte, 0, 64)
	p := Packet{Type: Message, Data: []byte("hello")}
	n = testing.AllocsPerRun(100, func() { buf = AppendText(buf[:0], p) })
	if n != 0 {
		t.Fatalf("AppendText into a large enough buffer allocates %v times, want 0", n)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	in := []byte("4hello\x1e4world\x1ebAQIDBA==\x1e3")
	dst := make([]Packet, 0, 8)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = DecodePayload(dst[:0], in, 0); err != nil {
			b.Fatal(err)
		}
	}
}

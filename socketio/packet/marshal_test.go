package packet

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type point struct {
	X int    `json:"x"`
	Y string `json:"y,omitempty"`
}

func TestAppendArray(t *testing.T) {
	tests := []struct {
		name string
		in   []any
		want string
		atts [][]byte
	}{
		{"scalars", []any{"a", 1, 2.5, true, nil, int64(-3), uint64(7)}, `["a",1,2.5,true,null,-3,7]`, nil},
		{"no html escaping", []any{"<a&b>", "\u2028"}, "[\"<a&b>\",\"\u2028\"]", nil},
		{"control characters", []any{"a\"\\\n\t\x01"}, `["a\"\\\n\t\u0001"]`, nil},
		{"invalid utf8", []any{"a\xffb"}, "[\"a\ufffdb\"]", nil},
		{"raw kept byte for byte", []any{json.RawMessage(`{"b":1, "a":2}`)}, `[{"b":1, "a":2}]`, nil},
		{"struct", []any{point{X: 1}}, `[{"x":1}]`, nil},
		{"struct pointer", []any{&point{X: 2, Y: "<"}}, `[{"x":2,"y":"<"}]`, nil},
		{"marshaler", []any{time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}, `["2020-01-02T03:04:05Z"]`, nil},
		{"map sorted", []any{map[string]any{"b": 1, "a": []any{"x"}}}, `[{"a":["x"],"b":1}]`, nil},
		{"top-level binary", []any{"a", []byte("abc")}, `["a",{"_placeholder":true,"num":0}]`, [][]byte{[]byte("abc")}},
		{"nested binary", []any{"a", map[string]any{"b": []any{"c", []byte("abc")}}}, `["a",{"b":["c",{"_placeholder":true,"num":0}]}]`, [][]byte{[]byte("abc")}},
		{"typed containers", []any{map[string][]byte{"k": {1}}, [][]byte{{2}, {3}}}, `[{"k":{"_placeholder":true,"num":0}},[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]]`, [][]byte{{1}, {2}, {3}}},
		{"nil slices", []any{[]byte(nil), []string(nil), map[string]int(nil)}, `[null,null,null]`, nil},
		{"raw with attachments renumbered", []any{[]byte{9}, Raw{JSON: json.RawMessage(`{"z":{"_placeholder":true,"num":1},"a":{"_placeholder":true,"num":0}}`), Attachments: [][]byte{{0}, {1}}}},
			`[{"_placeholder":true,"num":0},{"z":{"_placeholder":true,"num":1},"a":{"_placeholder":true,"num":2}}]`, [][]byte{{9}, {1}, {0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, atts, err := AppendArray(nil, nil, tt.in...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if !reflect.DeepEqual(atts, tt.atts) {
				t.Fatalf("attachments %v, want %v", atts, tt.atts)
			}
		})
	}
}

func TestAppendValueErrors(t *testing.T) {
	for _, v := range []any{json.RawMessage(`{`), make(chan int), func() {}} {
		if _, _, err := AppendValue(nil, nil, v); err == nil {
			t.Errorf("AppendValue(%T) succeeded", v)
		}
	}
}

func TestInlineAttachments(t *testing.T) {
	data := []byte(`{"file":{"_placeholder":true,"num":0},"name":"x"}`)
	got, err := InlineAttachments(data, [][]byte{[]byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		File []byte
		Name string
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	if string(v.File) != "hello" || v.Name != "x" {
		t.Fatalf("got %+v", v)
	}
	if _, err := InlineAttachments([]byte(`{"_placeholder":true,"num":3}`), [][]byte{{1}}); err == nil {
		t.Fatal("out-of-range placeholder accepted")
	}
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{` [ 1 , "a,]" , {"b":[1,2]} ,null] `, []string{`1`, `"a,]"`, `{"b":[1,2]}`, `null`}},
		{`["\"",[[]]]`, []string{`"\""`, `[[]]`}},
	}
	for _, tt := range tests {
		got, err := SplitArray([]byte(tt.in))
		if err != nil {
			t.Fatalf("SplitArray(%s): %v", tt.in, err)
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if !reflect.DeepEqual(gs, tt.want) {
			t.Fatalf("SplitArray(%s) = %q, want %q", tt.in, gs, tt.want)
		}
	}
	if _, err := SplitArray([]byte(`{}`)); err == nil {
		t.Fatal("object accepted as array")
	}
}

func TestPlaceholders(t *testing.T) {
	data := []byte(`[{"num":1,"_placeholder":true},{"_placeholder":false,"num":0},{"x":{"\u005fplaceholder":true,"num":0}}]`)
	phs, err := Placeholders(data, 2)
	if err != nil {
		t.Fatal(err)
	}
	first, second := `{"num":1,"_placeholder":true}`, `{"\u005fplaceholder":true,"num":0}`
	i, j := bytes.Index(data, []byte(first)), bytes.Index(data, []byte(second))
	want := []Placeholder{{Start: i, End: i + len(first), Num: 1}, {Start: j, End: j + len(second), Num: 0}}
	if !reflect.DeepEqual(phs, want) {
		t.Fatalf("got %+v, want %+v", phs, want)
	}
	if string(data[phs[1].Start:phs[1].End]) != `{"\u005fplaceholder":true,"num":0}` {
		t.Fatalf("span %q", data[phs[1].Start:phs[1].End])
	}
}

func TestRoundTripBinary(t *testing.T) {
	data, atts, err := AppendArray(nil, nil, "ev", map[string]any{"a": []byte{1, 2}}, []byte{3})
	if err != nil {
		t.Fatal(err)
	}
	text, bins := Encode(&Packet{Type: Event, Namespace: "/n", ID: 5, HasID: true, Data: data, Attachments: atts})
	var d Decoder
	p, err := d.Decode(text, false)
	for _, b := range bins {
		if err != nil {
			break
		}
		p, err = d.Decode(b, true)
	}
	if err != nil || p == nil {
		t.Fatalf("decode: %v %v", p, err)
	}
	if p.Type != BinaryEvent || p.NS() != "/n" || p.ID != 5 || !bytes.Equal(p.Data, data) || !reflect.DeepEqual(p.Attachments, atts) {
		t.Fatalf("round trip: %+v", p)
	}
}

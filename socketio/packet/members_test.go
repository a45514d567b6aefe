package packet

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// membersMatchJSON checks ObjectMembers against encoding/json on a valid
// JSON object: the same members, the last of duplicate keys winning, with
// values equal after compaction.
func membersMatchJSON(t *testing.T, data []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	if json.Unmarshal(data, &want) != nil || want == nil {
		return // not an object
	}
	got := map[string]json.RawMessage{}
	err := ObjectMembers(data, func(k, v []byte) {
		var key string // as encoding/json decodes it: escapes, invalid UTF-8
		if json.Unmarshal(k, &key) != nil {
			t.Fatalf("%q: key %q", data, k)
		}
		got[key] = v
	})
	if err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d members, want %d", data, len(got), len(want))
	}
	for k, w := range want {
		var a, b bytes.Buffer
		if json.Compact(&a, got[k]) != nil || json.Compact(&b, w) != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("%q: member %q = %q, want %q", data, k, got[k], w)
		}
	}
}

var membersSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{ "a" : "x" , "b":[1,{"c":"}"}] ,"d":null}`,
	`{"a\"b":true,"a\u0062":false}`, `{"a":1,"a":2}`, `{"nested":{"a":{"b":[]}},"s":"\\"}`,
}

func TestObjectMembers(t *testing.T) {
	for _, s := range membersSeeds {
		membersMatchJSON(t, []byte(s))
	}
	for _, s := range []string{`[1]`, `"s"`, `null`, ``} {
		if err := ObjectMembers([]byte(s), func(_, _ []byte) {}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", s, err)
		}
	}
}

func FuzzObjectMembers(f *testing.F) {
	for _, s := range membersSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) {
			membersMatchJSON(t, data)
		}
	})
}

package sioservice

import (
	"encoding/json"
	"reflect"
	"testing"
)

var parseSeeds = []string{
	`{"room":"r","event":"e","data":"x"}`, `{"room":"r","event":"e","data":null}`, `{"room":"r","event":"e"}`,
	`{ "event" : "e" , "room":"r", "data" : {"a":[1,2,{"b":"}"}]} }`, `{"Room":"r","event":"e","data":1}`,
	`{"ROOM":"r","room":"s","event":"e"}`, `{"room":"r\"q","event":"e","data":1}`, `{"room":1,"event":"e"}`,
	`{"room":null,"event":"e"}`, `{"r\u006fom":"r","event":"e"}`, `{"room":"a","room":"b","event":"e","data":[1]}`,
	`{"data":1,"data":2}`, `{}`, `[1]`, `"s"`, `null`, `{"x":{"room":"no"},"event":"e"}`,
	`{"room":"héllo","event":"e","data":"é"}`, "{\"room\":\"\xff\",\"event\":\"e\"}", `{"room":"r",`, ``,
	`{"room":"r","event":"e","data":[1,2]} x`,
}

// parseMatchesJSON checks parseRequest against json.Unmarshal: the same
// fields (data compared as bytes) and the same outcome.
func parseMatchesJSON(t *testing.T, in []byte) {
	t.Helper()
	var want request
	werr := json.Unmarshal(in, &want)
	for _, valid := range []bool{false, json.Valid(in)} {
		got, gerr := parseRequest(in, valid)
		if (werr == nil) != (gerr == nil) || (werr == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q (valid %v): got %+v %v, want %+v %v", in, valid, got, gerr, want, werr)
		}
	}
}

func TestParseRequestMatchesJSON(t *testing.T) {
	for _, s := range parseSeeds {
		parseMatchesJSON(t, []byte(s))
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { parseMatchesJSON(t, in) })
}

func BenchmarkParseRequest(b *testing.B) {
	in := []byte(`{"room":"bench","event":"m","data":"0000042|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseRequest(in, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req request
			if err := json.Unmarshal(in, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

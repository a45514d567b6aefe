package wire

import (
	"encoding/json"
	"testing"
)

var benchMsg = &Broadcast{UID: "abc123", Packet: Packet{Type: EventType, Nsp: "/",
	Data: json.RawMessage(`["m","12:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",{"user":"ann","n":3}]`)},
	Opts: Opts{Rooms: []string{"bench"}, Except: []string{"Xy7_sid_of_sender_ab"}}}

func BenchmarkAppendBroadcast(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendBroadcast(buf[:0], benchMsg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	raw, err := AppendBroadcast(nil, benchMsg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBroadcast(raw); err != nil {
			b.Fatal(err)
		}
	}
}

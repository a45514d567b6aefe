package signaling

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/turn"
)

func TestICEServers(t *testing.T) {
	h, _ := newHub(t, Config{TURNSecret: "s3cret", TURNTTL: time.Hour})
	a := connect(t, h)
	j := a.join(t, "r", "a")
	id := j.str("id")
	want := fmt.Sprintf(`"iceServers":[{"urls":["stun:example.test:3478"]},{"urls":["turn:example.test:3478?transport=udp","turn:example.test:3478?transport=tcp"],"username":"1700003600:%s","credential":%q}]`,
		id, func() string { _, p := turnCredentials("s3cret", id, time.Unix(1_700_003_600, 0)); return p }())
	got := j.str("_raw")
	if !strings.HasSuffix(got, want+"}") {
		t.Fatalf("iceServers\n got %s\nwant %s", got, want)
	}

	h2, _ := newHub(t, Config{STUNURLs: []string{"stun:{host}:9", "stuns:stun.example.org"}})
	b := client{&fakePeer{}, nil}
	b.s, _ = h2.Connect(b.fakePeer, ConnInfo{Host: "[::1]:8080"})
	got = b.join(t, "r", "b").str("_raw")
	if !strings.HasSuffix(got, `"iceServers":[{"urls":["stun:[::1]:9","stuns:stun.example.org"]}]}`) {
		t.Fatalf("iceServers without TURN = %s", got)
	}
}

// TestTURNCredentials checks the REST credential scheme against a value
// computed independently: printf '1700000000:alice' | openssl dgst -sha1 -hmac secret -binary | base64
func TestTURNCredentials(t *testing.T) {
	user, pass := turnCredentials("secret", "alice", time.Unix(1_700_000_000, 0))
	if user != "1700000000:alice" || pass != "d8soP47RbdIKLDUOpnJPVQyq5Ts=" {
		t.Fatalf("got %q %q", user, pass)
	}
	// The TURN server must accept what signaling hands out. signaling keeps
	// its own five lines rather than importing the TURN engine, so that
	// embedding signaling does not pull in a TURN server.
	now := time.Unix(1_700_000_000, 0)
	tu, tp := turn.RESTCredentials("s3cret", "PEERID", time.Hour, now)
	if u, p := turnCredentials("s3cret", "PEERID", now.Add(time.Hour)); u != tu || p != tp {
		t.Fatalf("signaling made %q/%q, turn.RESTCredentials %q/%q", u, p, tu, tp)
	}
}

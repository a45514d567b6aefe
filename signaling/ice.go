package signaling

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/signaling/message"
)

// hostPlaceholder in an ICE URL is replaced with the host name the client
// used to reach the server (the HTTP Host header without its port).
const hostPlaceholder = "{host}"

// turnCredentials returns time-limited TURN credentials for name in the TURN
// REST API scheme (draft-uberti-behave-turn-rest-00 §2.2, coturn's
// --use-auth-secret): username "expiry:name" with expiry in Unix seconds,
// password base64(HMAC-SHA1(secret, username)).
func turnCredentials(secret, name string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + name
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// iceServers returns the iceServers of a joined frame for peer id, reached
// through host.
func (c *Config) iceServers(host, id string, now time.Time) []message.ICEServer {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	if host == "" {
		host = "localhost"
	}
	expand := func(urls []string) []string {
		out := make([]string, len(urls))
		for i, u := range urls {
			out[i] = strings.ReplaceAll(u, hostPlaceholder, host)
		}
		return out
	}
	var ice []message.ICEServer
	if len(c.STUNURLs) > 0 {
		ice = append(ice, message.ICEServer{URLs: expand(c.STUNURLs)})
	}
	if c.TURNSecret != "" && len(c.TURNURLs) > 0 {
		user, pass := turnCredentials(c.TURNSecret, id, now.Add(c.TURNTTL))
		ice = append(ice, message.ICEServer{URLs: expand(c.TURNURLs), Username: user, Credential: pass})
	}
	return ice
}

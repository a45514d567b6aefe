package main

import (
	"net/netip"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != ":8080" || c.turnListen != ":3478" || c.turnRealm != "switchboard" || c.echo || c.apiKey != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigFlagsOverrideEnv(t *testing.T) {
	e := env(map[string]string{
		"SWITCHBOARD_LISTEN":          "127.0.0.1:1",
		"SWITCHBOARD_TURN_SECRET":     "from-env",
		"SWITCHBOARD_TURN_USER":       "a=1,b=2",
		"SWITCHBOARD_TURN_ALLOW_PEER": "10.0.0.0/8",
		"SWITCHBOARD_ECHO":            "true",
	})
	c, err := parseConfig([]string{"--listen", "127.0.0.1:2", "--turn-user", "c=3"}, e)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:2" {
		t.Errorf("flag did not override env: %s", c.listen)
	}
	if c.turnSecret != "from-env" || !c.echo {
		t.Errorf("env not read: %+v", c)
	}
	if len(c.turnUsers) != 1 || c.turnUsers["c"] != "3" {
		t.Errorf("repeatable flag should replace the env list: %v", c.turnUsers)
	}
	if len(c.turnAllow) != 1 || c.turnAllow[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("allow-peer from env: %v", c.turnAllow)
	}
}

func TestConfigLimits(t *testing.T) {
	c, err := parseConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.lim.maxConnsPerIP != 256 || c.lim.connRatePerIP != 20 || len(c.lim.exempt) != 2 || !c.lim.origins.AllowsAll() {
		t.Fatalf("defaults: %+v", c.lim)
	}
	c, err = parseConfig([]string{"--limit-exempt", "none", "--allowed-origins", "https://a.example", "--allowed-origins", "http://localhost:3000"},
		env(map[string]string{"SWITCHBOARD_LIMIT_EXEMPT": "10.0.0.0/8", "SWITCHBOARD_MAX_CONNS_PER_IP": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.lim.exempt) != 0 || c.lim.maxConnsPerIP != 9 || len(c.lim.origins.Origins()) != 2 {
		t.Fatalf("flags and env: %+v", c.lim)
	}
	c, err = parseConfig(nil, env(map[string]string{"SWITCHBOARD_LIMIT_EXEMPT": "10.0.0.0/8, 192.0.2.7"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.lim.exempt) != 2 || c.lim.exempt[1].Bits() != 32 {
		t.Fatalf("env list: %v", c.lim.exempt)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{[]string{"--tls-cert", "x.pem"}, nil, "--tls-key"},
		{[]string{"--turn-tls-listen", ":5349"}, nil, "--turn-tls-listen"},
		{[]string{"--turn-user", "nopass"}, nil, "--turn-user"},
		{[]string{"--turn-allow-peer", "not-a-cidr"}, nil, "--turn-allow-peer"},
		{[]string{"--turn-relay-ip", "x"}, nil, "--turn-relay-ip"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{nil, map[string]string{"SWITCHBOARD_ECHO": "maybe"}, "SWITCHBOARD_ECHO"},
		{[]string{"stray"}, nil, "stray"},
		{[]string{"--redis-url", "http://x"}, nil, "--redis-url"},
		{[]string{"--max-conns-per-ip", "-1"}, nil, "--max-conns-per-ip"},
		{[]string{"--conn-rate-per-ip", "-2"}, nil, "--conn-rate-per-ip"},
		{[]string{"--limit-exempt", "nope"}, nil, "--limit-exempt"},
		{nil, map[string]string{"SWITCHBOARD_ALLOWED_ORIGINS": "https://a.example,a.example"}, "--allowed-origins"},
		{[]string{"--allowed-origins", "https://a.example/path"}, nil, "--allowed-origins"},
		{[]string{"--sio-max-payload", "0"}, nil, "--sio-max-payload"},
		{[]string{"--sio-max-rooms", "-1"}, nil, "--sio-max-rooms"},
		{[]string{"--signal-max-room-size", "0"}, nil, "--signal-max-room-size"},
		{[]string{"--signal-message-rate", "0"}, nil, "--signal-message-rate"},
	} {
		_, err := parseConfig(tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: error %v, want one line naming %q", tc.args, tc.env, err, tc.want)
		}
	}
}

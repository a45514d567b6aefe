package main

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// writeConfig writes a --config file into a temporary directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sb.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFileValues(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(*config) bool
	}{
		{"empty file", "", func(c *config) bool { return c.listen == ":8080" }},
		{"only comments", "# nothing\n", func(c *config) bool { return c.listen == ":8080" }},
		{"explicit null document", "~\n", func(c *config) bool { return c.listen == ":8080" }},
		{"quoted string", `listen: "127.0.0.1:1"`, func(c *config) bool { return c.listen == "127.0.0.1:1" }},
		{"plain string starting with a colon", `listen: :9000`, func(c *config) bool { return c.listen == ":9000" }},
		{"off is a string in YAML 1.2", `turn-listen: off`, func(c *config) bool { return c.turnListen == "off" }},
		{"number where a string belongs keeps its text", `turn-secret: 0123`, func(c *config) bool { return c.turnSecret == "0123" }},
		{"empty string", `api-key: ""`, func(c *config) bool { return c.apiKey == "" }},
		{"boolean true", `echo: true`, func(c *config) bool { return c.echo }},
		{"boolean True", `echo: True`, func(c *config) bool { return c.echo }},
		{"boolean false", `echo: false`, func(c *config) bool { return !c.echo }},
		{"int", `ws-max-message: 1024`, func(c *config) bool { return c.wsMaxMessage == 1024 }},
		{"duration", `shutdown-timeout: 3s`, func(c *config) bool { return c.shutdownTimeout == 3*time.Second }},
		{"log level", `log-level: debug`, func(c *config) bool { return c.logLevel == slog.LevelDebug }},
		{"list as a sequence", "turn-user:\n  - a=1\n  - b=2\n", func(c *config) bool {
			return len(c.turnUsers) == 2 && c.turnUsers["a"] == "1" && c.turnUsers["b"] == "2"
		}},
		{"list as a flow sequence", `turn-allow-peer: [10.0.0.0/8, 192.168.0.0/16]`, func(c *config) bool { return len(c.turnAllow) == 2 }},
		{"list as one scalar", `turn-user: a=1`, func(c *config) bool { return len(c.turnUsers) == 1 && c.turnUsers["a"] == "1" }},
		{"empty list", `turn-user: []`, func(c *config) bool { return len(c.turnUsers) == 0 }},
		{"relay ip", `turn-relay-ip: 192.0.2.1`, func(c *config) bool { return c.turnRelayIP == netip.MustParseAddr("192.0.2.1") }},
		{"alias", "api-key: &k secret\nturn-secret: *k\n", func(c *config) bool { return c.apiKey == "secret" && c.turnSecret == "secret" }},
		{"tls pair", "tls-cert: c.pem\ntls-key: k.pem\n", func(c *config) bool { return c.tlsCert == "c.pem" && c.tlsKey == "k.pem" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig([]string{"--config", writeConfig(t, tc.yaml)}, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%q: got %+v", tc.yaml, c)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want string // after "--config PATH: "
	}{
		{"lisen: :1\n", "lisen: unknown setting"},
		{"config: other.yaml\n", "config: unknown setting"},
		{"--listen: :1\n", "--listen: unknown setting"},
		{"api-key: a\napi-key: b\n", "api-key: set twice"},
		{"listen: [a, b]\n", "listen: want a single value, got a sequence"},
		{"listen: {a: b}\n", "listen: want a value, got a mapping"},
		{"listen:\n", `listen: no value`},
		{"turn-user: [a=1, ~]\n", `turn-user: no value`},
		{"turn-user: [[a=1]]\n", "turn-user: want a value, got a sequence"},
		{"echo: yes\n", `echo: want true or false, got "yes" (str)`},
		{"echo: 1\n", `echo: want true or false, got "1" (int)`},
		{"echo: \"true\"\n", `echo: want true or false, got "true" (str)`},
		{"turn-secret: true\n", "turn-secret: got the boolean true; quote it"},
		{"ws-max-message: lots\n", `ws-max-message "lots": parse error`},
		{"shutdown-timeout: 10\n", `shutdown-timeout "10": parse error`},
		{"- listen\n", "want a mapping of settings (name: value), got a sequence"},
		{"listen\n", `want a mapping of settings (name: value), got "listen" (str)`},
		{"? [a]\n: b\n", "line 1: want a setting name, got a sequence"},
		{"listen: :1\n  bad indent: x\n", "yaml: line 2"},
		{"listen: :1\n---\necho: true\n", "more than one YAML document"},
		// Checks after parsing name the file when the value came from it.
		{"turn-relay-ip: nope\n", `turn-relay-ip "nope": not an IP address`},
		{"log-level: loud\n", `log-level "loud": want debug`},
		{"log-format: xml\n", `log-format "xml": want text or json`},
		{"turn-user: [nopass]\n", `turn-user "nopass"`},
		{"turn-allow-peer: not-a-cidr\n", `turn-allow-peer "not-a-cidr"`},
		{"ws-max-message: 0\n", "ws-max-message 0: must be positive"},
		{"tls-cert: c.pem\n", "tls-cert and --tls-key go together"},
		{"redis-url: http://x\n", `redis-url "http://x"`},
	} {
		path := writeConfig(t, tc.yaml)
		_, err := parseConfig([]string{"--config", path}, env(nil))
		want := "--config " + path + ": " + tc.want
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line starting %q", tc.yaml, err, want)
		}
	}
	_, err := parseConfig([]string{"--config", "/nonexistent/sb.yaml"}, env(nil))
	if want := "--config /nonexistent/sb.yaml: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("missing file: %v, want %q", err, want)
	}
}

// TestConfigFilePrecedence: flags > env > file > defaults, and a higher
// source replaces a repeatable setting's list.
func TestConfigFilePrecedence(t *testing.T) {
	path := writeConfig(t, `
listen: 127.0.0.1:1
turn-secret: file
api-key: file
echo: true
turn-user: [a=1, b=2]
turn-allow-peer: [10.0.0.0/8, 172.16.0.0/12]
turn-realm: file
`)
	e := env(map[string]string{
		"SWITCHBOARD_CONFIG":          path,
		"SWITCHBOARD_LISTEN":          "127.0.0.1:2",
		"SWITCHBOARD_TURN_SECRET":     "env",
		"SWITCHBOARD_TURN_ALLOW_PEER": "192.168.0.0/16",
	})
	c, err := parseConfig([]string{"--listen", "127.0.0.1:3", "--turn-user", "c=3", "--echo=false"}, e)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct{ name, got, want string }{
		{"listen (flag > env > file)", c.listen, "127.0.0.1:3"},
		{"turn-secret (env > file)", c.turnSecret, "env"},
		{"api-key (file > default)", c.apiKey, "file"},
		{"turn-realm (file > default)", c.turnRealm, "file"},
		{"turn-listen (default)", c.turnListen, ":3478"},
	} {
		if g.got != g.want {
			t.Errorf("%s: %q, want %q", g.name, g.got, g.want)
		}
	}
	if c.echo {
		t.Error("--echo=false did not override the file's true")
	}
	if len(c.turnUsers) != 1 || c.turnUsers["c"] != "3" {
		t.Errorf("turn-user: flag should replace the file's list: %v", c.turnUsers)
	}
	if len(c.turnAllow) != 1 || c.turnAllow[0] != netip.MustParsePrefix("192.168.0.0/16") {
		t.Errorf("turn-allow-peer: env should replace the file's list: %v", c.turnAllow)
	}
}

// TestConfigFileBlame: a check after parsing names the file only when the
// bad value came from it.
func TestConfigFileBlame(t *testing.T) {
	path := writeConfig(t, "log-level: loud\nturn-relay-ip: 192.0.2.1\n")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string // "" for no error
	}{
		{[]string{"--config", path}, nil, "--config " + path + `: log-level "loud"`},
		{[]string{"--config", path, "--log-level", "warn"}, nil, ""},
		{[]string{"--config", path}, map[string]string{"SWITCHBOARD_LOG_LEVEL": "warn"}, ""},
		{[]string{"--config", path, "--log-level", "warn", "--turn-relay-ip", "x"}, nil, `--turn-relay-ip "x"`},
		{[]string{"--config", path, "--log-level", "warn"}, map[string]string{"SWITCHBOARD_TURN_RELAY_IP": "x"}, `--turn-relay-ip "x"`},
	} {
		_, err := parseConfig(tc.args, env(tc.env))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%v %v: error %v, want it to start %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// TestConfigPath: which file is read, if any.
func TestConfigPath(t *testing.T) {
	fromEnv := writeConfig(t, "api-key: env-file\n")
	fromFlag := writeConfig(t, "api-key: flag-file\n")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string // the api key the file gave, "" for no file read
	}{
		{nil, nil, ""},
		{[]string{"--config", fromFlag}, nil, "flag-file"},
		{[]string{"-config=" + fromFlag}, nil, "flag-file"},
		{nil, map[string]string{"SWITCHBOARD_CONFIG": fromEnv}, "env-file"},
		{[]string{"--config", fromFlag}, map[string]string{"SWITCHBOARD_CONFIG": fromEnv}, "flag-file"},
		{[]string{"--config="}, map[string]string{"SWITCHBOARD_CONFIG": fromEnv}, ""},
		// "--config" here is the value of --turn-secret, not a flag.
		{[]string{"--turn-secret", "--config", "--turn-realm", fromFlag}, nil, ""},
		// After a boolean flag the next argument is a flag again.
		{[]string{"--echo", "--config", fromFlag}, nil, "flag-file"},
	} {
		c, err := parseConfig(tc.args, env(tc.env))
		if err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.apiKey != tc.want {
			t.Errorf("%v %v: api key %q, want %q", tc.args, tc.env, c.apiKey, tc.want)
		}
	}
}

func TestConfigHelp(t *testing.T) {
	// --help wins over a broken file.
	_, err := parseConfig([]string{"--config", writeConfig(t, "nope: 1\n"), "--help"}, env(nil))
	var h *helpRequested
	if !errors.As(err, &h) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{
		"SWITCHBOARD_TURN_SECRET", "--config FILE", "SWITCHBOARD_CONFIG", "turn-secret: S",
		"  --listen string\n", "(default: :8080)", "  --echo\n", "(default: false)",
		"  --turn-user string\n", "  --config string\n", "(default: 10s)",
	} {
		if !strings.Contains(h.usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, h.usage)
		}
	}
	// Every setting is listed with a default.
	for _, line := range strings.Split(h.usage, "\n") {
		if strings.HasPrefix(line, "      ") && !strings.Contains(line, "(default") {
			t.Errorf("no default: %q", line)
		}
	}
}

// FuzzConfigFile: no file makes parseConfig panic, and every error is one
// line.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"", "listen: :1\n", "turn-user: [a=1, b=2]\necho: true\n", "echo: yes\n", "- a\n",
		"a: &x [*x]\n", "turn-relay-ip: nope\n", "listen: {a: b}\n", "? [a]\n: b\n",
		"tls-cert: c\ntls-key: k\nturn-tls-listen: :1\n", "listen: :1\n---\necho: true\n",
		"<<: {listen: :1}\n", "ws-max-message: 0x10\nshutdown-timeout: 1h\n", "\"a\\rb\\nc\": 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, yaml string) {
		path := writeConfig(t, yaml)
		_, err := parseConfig([]string{"--config", path}, env(nil))
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%q: error spans lines: %q", yaml, err)
		}
	})
}

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The --config file: a YAML mapping whose keys are the flag names and whose
// values go through the flag's own Set, so every flag of the FlagSet is a
// file setting with no code of its own. Sources are applied from the lowest
// precedence up — defaults (at definition), the file, SWITCHBOARD_* env,
// the command line — each overriding the one before; a repeatable flag's
// list is replaced, not extended, by a higher source.

// configFile is what was read from the --config file.
type configFile struct {
	path string
	keys map[string]bool // flag names the file set
}

// envName is the environment variable a flag reads.
func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configPath finds the file to read: --config on the command line, else
// SWITCHBOARD_CONFIG. The command line is scanned with a throwaway FlagSet
// mirroring fs (so that flag values are not mistaken for --config); when it
// does not parse, or asks for help, no file is read and the real parse
// reports.
func configPath(fs *flag.FlagSet, args []string, getenv func(string) string) string {
	scan := flag.NewFlagSet("scan", flag.ContinueOnError)
	scan.SetOutput(io.Discard)
	var path string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			scan.StringVar(&path, f.Name, "", "")
			return
		}
		scan.Var(discard{isBool: isBoolFlag(f.Value)}, f.Name, "")
	})
	if scan.Parse(args) != nil {
		return ""
	}
	onCommandLine := false
	scan.Visit(func(f *flag.Flag) { onCommandLine = onCommandLine || f.Name == "config" })
	if onCommandLine {
		return path // an explicit --config= reads no file
	}
	return getenv(envName("config"))
}

// discard is a flag.Value that accepts anything; configPath's scan uses it.
type discard struct{ isBool bool }

func (discard) String() string     { return "" }
func (discard) Set(string) error   { return nil }
func (d discard) IsBoolFlag() bool { return d.isBool }

func isBoolFlag(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// applyConfigFile reads path and sets the flags of fs it names. Errors are
// one line and start with "--config PATH: KEY".
func applyConfigFile(fs *flag.FlagSet, path string) (*configFile, error) {
	cf := &configFile{path: path, keys: map[string]bool{}}
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return fmt.Errorf("--config %s: %s", path, strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(msg))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the message
		}
		return nil, fail("%v", err)
	}
	var doc, more yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fail("%v", err)
	}
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fail("more than one YAML document")
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cf, nil // an empty file (or only comments) sets nothing
	}
	top := resolve(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" {
		return cf, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, fail("want a mapping of settings (name: value), got %s", describe(top))
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := resolve(top.Content[i]), resolve(top.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, fail("line %d: want a setting name, got %s", k.Line, describe(k))
		}
		name := k.Value
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return nil, fail("%s: unknown setting (line %d)", name, k.Line)
		}
		if cf.keys[name] {
			return nil, fail("%s: set twice (line %d)", name, k.Line)
		}
		cf.keys[name] = true
		vals, err := fileValues(f, v)
		if err != nil {
			return nil, fail("%s: %v", name, err)
		}
		for _, s := range vals {
			if err := f.Value.Set(s); err != nil {
				return nil, fail("%s %q: %v", name, s, err)
			}
		}
		if lf, ok := f.Value.(*listFlag); ok {
			lf.set = false // env or the command line replace the file's list
		}
	}
	return cf, nil
}

// fileValues turns a YAML value into the strings to Set: one scalar, or for
// a repeatable flag a sequence of scalars; a boolean flag takes only a YAML
// boolean.
func fileValues(f *flag.Flag, v *yaml.Node) ([]string, error) {
	var nodes []*yaml.Node
	switch {
	case v.Kind == yaml.SequenceNode:
		if _, ok := f.Value.(*listFlag); !ok {
			return nil, errors.New("want a single value, got a sequence")
		}
		for _, n := range v.Content {
			nodes = append(nodes, resolve(n))
		}
	case v.Kind == yaml.ScalarNode:
		nodes = []*yaml.Node{v}
	default:
		return nil, fmt.Errorf("want a value, got %s", describe(v))
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if n.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("want a value, got %s", describe(n))
		}
		if n.ShortTag() == "!!null" {
			return nil, errors.New(`no value (write "" for an empty one)`)
		}
		if isBoolFlag(f.Value) != (n.ShortTag() == "!!bool") {
			if isBoolFlag(f.Value) {
				return nil, fmt.Errorf("want true or false, got %s", describe(n))
			}
			// A YAML boolean where a string or number belongs is almost
			// certainly a mistake (yes/no/on/off are strings in YAML 1.2).
			return nil, fmt.Errorf("got the boolean %s; quote it if you mean the text", n.Value)
		}
		if n.ShortTag() == "!!bool" {
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			out = append(out, fmt.Sprint(b))
			continue
		}
		out = append(out, n.Value) // as written: 0123 and 1e3 stay themselves
	}
	return out, nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q (%s)", n.Value, strings.TrimPrefix(n.ShortTag(), "!!"))
	}
	return "nothing usable"
}

// blame rewrites a validation error about a setting whose value came from
// the file so that it names the file: "--turn-relay-ip ..." becomes
// "--config x.yaml: turn-relay-ip ...". Validation errors in parseConfig
// start with "--NAME" by convention; that is all this relies on.
func (cf *configFile) blame(err error, fs *flag.FlagSet, getenv func(string) string) error {
	if err == nil || cf == nil {
		return err
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "--") {
		return err
	}
	name := strings.TrimPrefix(msg, "--")
	if i := strings.IndexAny(name, " :="); i >= 0 {
		name = name[:i]
	}
	if !cf.keys[name] || getenv(envName(name)) != "" {
		return err
	}
	onCommandLine := false
	fs.Visit(func(f *flag.Flag) { onCommandLine = onCommandLine || f.Name == name })
	if onCommandLine {
		return err
	}
	return &fileError{path: cf.path, err: err}
}

// fileError is a validation error whose setting came from the file.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string {
	return "--config " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "--")
}

func (e *fileError) Unwrap() error { return e.err }

// helpRequested is parseConfig's answer to -h/--help; main prints usage.
type helpRequested struct{ usage string }

func (*helpRequested) Error() string { return "help requested" }

// usage documents every flag of fs with its default, and where else each
// setting can come from.
func usage(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`Usage: switchboard [flags]

Serves Switchboard: the demo, Socket.IO, WebRTC signaling, PeerJS, STUN/TURN.

Every setting below can come from four places; the first that has it wins:
  1. the command line:  --turn-secret S
  2. the environment:   SWITCHBOARD_TURN_SECRET=S  (the name upper-cased, dashes
     as underscores; repeatable settings take a comma-separated list)
  3. the YAML file named by --config FILE or SWITCHBOARD_CONFIG, whose keys are
     the flag names:    turn-secret: S
     Repeatable settings take a sequence or a single value, switches take true
     or false. Unknown keys and bad values are errors.
  4. the default shown here.
A higher source replaces a repeatable setting's whole list.

Signals: SIGTERM or SIGINT shuts down gracefully (a second one exits at once);
SIGHUP reloads --tls-cert/--tls-key for new handshakes, keeping the current pair
if the files do not load.

Settings:
`)
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		if _, ok := f.Value.(*listFlag); ok {
			typ = "string"
		}
		fmt.Fprintf(&b, "  --%s", f.Name)
		if typ != "" {
			fmt.Fprintf(&b, " %s", typ)
		}
		fmt.Fprintf(&b, "\n      %s", text)
		if !strings.Contains(text, "(default") {
			def := f.DefValue
			if def == "" {
				def = "none"
			}
			fmt.Fprintf(&b, " (default: %s)", def)
		}
		b.WriteString("\n")
	})
	return b.String()
}

package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// testCert is a self-signed certificate for 127.0.0.1, PEM-encoded.
type testCert struct {
	certPEM, keyPEM []byte
	x509            *x509.Certificate
}

func newTestCert(t *testing.T, name string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		x509:    c,
	}
}

func (c testCert) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.x509)
	return p
}

// replaceFile writes b next to path and renames it over path, the way
// certificate managers replace files.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// servedCert is the certificate a new TLS handshake with addr presents.
func servedCert(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second}
	// Not verified here: the callers compare the certificate itself.
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// logLines follows a process's JSON log lines.
type logLines struct {
	ch   chan string
	seen []string
}

// waitFor returns once a line with "msg":msg arrives; it fails the test if
// the process ends or 15 s pass first.
func (l *logLines) waitFor(t *testing.T, msg string) string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("process ended before logging %q:\n%s", msg, strings.Join(l.seen, "\n"))
			}
			l.seen = append(l.seen, line)
			if strings.Contains(line, `"msg":"`+msg+`"`) {
				return line
			}
		case <-timeout:
			t.Fatalf("no %q log line in 15s:\n%s", msg, strings.Join(l.seen, "\n"))
		}
	}
}

// TestBinaryTLSReload runs the binary with TLS from a --config file and
// replaces the certificate under it: SIGHUP with a broken pair keeps the
// old certificate, SIGHUP with a good one makes new handshakes on --listen
// and --turn-tls-listen present it, and a WSS connection made before both
// keeps echoing throughout.
func TestBinaryTLSReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	one, two := newTestCert(t, "one"), newTestCert(t, "two")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replaceFile(t, certFile, one.certPEM)
	replaceFile(t, keyFile, one.keyPEM)
	httpAddr, turnAddr, turnsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	// The three sources at once: file, environment, flags.
	confFile := filepath.Join(dir, "switchboard.yaml")
	replaceFile(t, confFile, []byte("tls-cert: "+certFile+"\ntls-key: "+keyFile+"\necho: true\nlog-format: json\nturn-tls-listen: \""+turnsAddr+"\"\n"))
	cmd := exec.Command(bin, "--config", confFile, "--turn-listen", turnAddr)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_LISTEN="+httpAddr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &logLines{ch: make(chan string)}
	go func() { // ends at EOF, when the process has exited
		defer close(logs.ch)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.ch <- sc.Text()
		}
	}()
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
		}
		for range logs.ch { // let the reader reach EOF
		}
		if !exited {
			_ = cmd.Wait()
		}
	})
	logs.waitFor(t, "turn listening") // logged once every listener is open

	for _, addr := range []string{httpAddr, turnsAddr} {
		if got := servedCert(t, addr); !got.Equal(one.x509) {
			t.Fatalf("%s presents %q at start, want one", addr, got.Subject.CommonName)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old, _, err := websocket.Dial(ctx, "wss://"+httpAddr+"/echo", &websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: one.pool()}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.CloseNow()
	echo := func(c *websocket.ClientConn, msg string) {
		t.Helper()
		if err := c.Write(ctx, websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatalf("write %q: %v", msg, err)
		}
		if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
			t.Fatalf("echo %q: %q %v", msg, got, err)
		}
	}
	echo(old, "before any reload")

	// A renewal half done: the new certificate beside the old key.
	replaceFile(t, certFile, two.certPEM)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "tls reload failed; keeping the current certificate")
	if got := servedCert(t, httpAddr); !got.Equal(one.x509) {
		t.Errorf("after a failed reload the listener presents %q, want one", got.Subject.CommonName)
	}
	echo(old, "after a failed reload")

	// The renewal completed.
	replaceFile(t, keyFile, two.keyPEM)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if line := logs.waitFor(t, "tls certificate reloaded"); !strings.Contains(line, "CN=two") {
		t.Errorf("reload log line does not name the new certificate: %s", line)
	}
	for _, addr := range []string{httpAddr, turnsAddr} {
		if got := servedCert(t, addr); !got.Equal(two.x509) {
			t.Errorf("%s presents %q after the reload, want two", addr, got.Subject.CommonName)
		}
	}
	echo(old, "after the reload") // the established connection was not dropped
	fresh, _, err := websocket.Dial(ctx, "wss://"+httpAddr+"/echo", &websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: two.pool()}})
	if err != nil {
		t.Fatalf("WSS with the new certificate: %v", err)
	}
	defer fresh.CloseNow()
	echo(fresh, "new connection")

	// SIGTERM still shuts down gracefully.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.ClientConn{old, fresh} {
		if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != 1001 {
			t.Errorf("client got %v, want close 1001", err)
		}
	}
	logs.waitFor(t, "stopped")
	for range logs.ch {
	}
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("exit: %v", err)
	}
}

package tlsreload

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

// pair is a self-signed certificate and its key, PEM-encoded.
type pair struct {
	certPEM, keyPEM []byte
	der             []byte
}

func newPair(t *testing.T, name string) pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		der:     der,
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// served is the certificate the holder hands a handshake.
func served(t *testing.T, h *Holder) []byte {
	t.Helper()
	c, err := h.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil || c == nil || c.Leaf == nil {
		t.Fatalf("GetCertificate: %v %v", c, err)
	}
	return c.Leaf.Raw
}

func TestNewFails(t *testing.T) {
	dir := t.TempDir()
	p := newPair(t, "one")
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, cert, p.certPEM)
	write(t, key, p.keyPEM)
	if _, err := New(cert, filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := New(key, cert); err == nil {
		t.Error("swapped files: no error")
	}
}

// TestReload: a good reload replaces the certificate; each kind of bad one
// returns an error and keeps the current certificate.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	one, two, three := newPair(t, "one"), newPair(t, "two"), newPair(t, "three")
	write(t, cert, one.certPEM)
	write(t, key, one.keyPEM)
	h, err := New(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served(t, h), one.der) {
		t.Fatal("New does not serve the files' certificate")
	}

	for _, tc := range []struct {
		name      string
		cert, key []byte // nil: remove the file
		want      []byte // the certificate served afterwards; nil: Reload fails
	}{
		{"new pair", two.certPEM, two.keyPEM, two.der},
		{"certificate replaced, key not yet", three.certPEM, two.keyPEM, nil},
		{"key replaced, certificate not yet", two.certPEM, three.keyPEM, nil},
		{"garbage certificate", []byte("not PEM"), three.keyPEM, nil},
		{"empty key", three.certPEM, []byte{}, nil},
		{"key file missing", three.certPEM, nil, nil},
		{"both replaced", three.certPEM, three.keyPEM, three.der},
		{"same files again", three.certPEM, three.keyPEM, three.der},
		{"back to the first", one.certPEM, one.keyPEM, one.der},
	} {
		before := served(t, h)
		write(t, cert, tc.cert)
		if tc.key == nil {
			if err := os.Remove(key); err != nil {
				t.Fatal(err)
			}
		} else {
			write(t, key, tc.key)
		}
		got, err := h.Reload()
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s: Reload succeeded", tc.name)
		case tc.want == nil && !bytes.Equal(served(t, h), before):
			t.Errorf("%s: a failed reload changed the certificate", tc.name)
		case tc.want != nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != nil && (!bytes.Equal(got.Leaf.Raw, tc.want) || !bytes.Equal(served(t, h), tc.want)):
			t.Errorf("%s: the new certificate is not served", tc.name)
		}
		if h.Certificate().Leaf == nil || !bytes.Equal(h.Certificate().Leaf.Raw, served(t, h)) {
			t.Errorf("%s: Certificate and GetCertificate disagree", tc.name)
		}
	}
}

// TestHandshakes: over real TLS, a reload changes what new handshakes get
// while a connection made before it keeps working.
func TestHandshakes(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	one, two := newPair(t, "one"), newPair(t, "two")
	write(t, cert, one.certPEM)
	write(t, key, one.keyPEM)
	h, err := New(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: h.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	// The accept loop echoes every connection; it ends when ln closes, its
	// echo goroutines when their clients close.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	defer wg.Wait()
	defer ln.Close()

	dial := func(want []byte) *tls.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // the test compares the certificate itself
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ConnectionState().PeerCertificates[0].Raw; !bytes.Equal(got, want) {
			t.Errorf("handshake presented %q", c.ConnectionState().PeerCertificates[0].Subject.CommonName)
		}
		return c
	}
	echo := func(c *tls.Conn, msg string) {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo: %q %v", buf, err)
		}
	}

	old := dial(one.der)
	defer old.Close()
	echo(old, "before")
	write(t, cert, two.certPEM)
	write(t, key, two.keyPEM)
	if _, err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	fresh := dial(two.der)
	echo(fresh, "new")
	fresh.Close()
	echo(old, "after") // the old connection is untouched
}

// TestConcurrentReload: handshakes and reloads at once are race-free (run
// with -race) and every handshake gets one of the two whole pairs.
func TestConcurrentReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pairs := []pair{newPair(t, "one"), newPair(t, "two")}
	write(t, cert, pairs[0].certPEM)
	write(t, key, pairs[0].keyPEM)
	h, err := New(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				c, _ := h.GetCertificate(nil)
				if !bytes.Equal(c.Leaf.Raw, pairs[0].der) && !bytes.Equal(c.Leaf.Raw, pairs[1].der) {
					t.Error("served an unknown certificate")
					return
				}
			}
		}()
	}
	for i := range 50 {
		p := pairs[i%2]
		write(t, cert, p.certPEM)
		write(t, key, p.keyPEM)
		if _, err := h.Reload(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

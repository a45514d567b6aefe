// Package tlsreload serves a TLS certificate that can be replaced while the
// listeners using it keep running: a Holder loads a certificate and key
// from files, hands the current pair to every new handshake through
// tls.Config.GetCertificate, and swaps in a fresh pair when Reload is called
// (the binary calls it on SIGHUP).
//
// A reload that fails — a missing file, garbage, a key that does not match
// the certificate (as when a renewal has replaced one file but not yet the
// other) — returns the error and leaves the current pair in place.
// Established connections are never touched: a TLS connection keeps the
// certificate it was handshaken with, so a reload affects new handshakes
// only.
//
// The package starts no goroutines and does not log; the caller decides
// when to reload and what to say about it.
package tlsreload

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// Holder holds the current certificate. It is safe for concurrent use:
// GetCertificate is one atomic load, Reload one atomic store after the
// files have been read and checked.
type Holder struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// New loads the PEM certificate chain in certFile and its private key in
// keyFile.
func New(certFile, keyFile string) (*Holder, error) {
	h := &Holder{certFile: certFile, keyFile: keyFile}
	if _, err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// Reload reads the files again. On success the new certificate serves
// every later handshake and is returned (its Leaf is parsed); on failure
// the error is returned and the previous certificate stays.
func (h *Holder) Reload() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(h.certFile, h.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsreload: %s, %s: %w", h.certFile, h.keyFile, err)
	}
	h.cur.Store(&cert)
	return &cert, nil
}

// Certificate is the certificate new handshakes get. Callers must not
// modify it.
func (h *Holder) Certificate() *tls.Certificate { return h.cur.Load() }

// GetCertificate is for tls.Config.GetCertificate.
func (h *Holder) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return h.cur.Load(), nil
}

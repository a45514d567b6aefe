package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/auth"
)

// checkJWT validates the --jwt-* flags, reading the JWK Set file once so
// that a bad one is reported at start-up with the flag's name.
func (c *config) checkJWT() error {
	on := c.jwtSecret != "" || c.jwtJWKS != ""
	switch {
	case c.jwtSecret != "" && len(c.jwtSecret) < auth.MinSecretLen:
		return fmt.Errorf("--jwt-secret: must be at least %d bytes (RFC 7518 §3.2)", auth.MinSecretLen)
	case c.jwtIssuer != "" && !on:
		return errors.New("--jwt-issuer needs --jwt-secret or --jwt-jwks")
	case c.jwtAudience != "" && !on:
		return errors.New("--jwt-audience needs --jwt-secret or --jwt-jwks")
	}
	if c.jwtJWKS != "" {
		data, err := os.ReadFile(c.jwtJWKS)
		if err == nil {
			_, err = auth.ParseJWKS(data)
		}
		if err != nil {
			return fmt.Errorf("--jwt-jwks %s: %v", c.jwtJWKS, err)
		}
	}
	return nil
}

// verifier builds the JWT verifier of the --jwt-* flags; nil when none is
// set (no authentication).
func (c *config) verifier() (*auth.Verifier, error) {
	if c.jwtSecret == "" && c.jwtJWKS == "" {
		return nil, nil
	}
	v, err := auth.New(auth.Config{
		Secret:   []byte(c.jwtSecret),
		JWKSFile: c.jwtJWKS,
		Issuer:   c.jwtIssuer,
		Audience: c.jwtAudience,
	})
	if err != nil {
		return nil, fmt.Errorf("--jwt-jwks/--jwt-secret: %w", err)
	}
	return v, nil
}

// reloadJWKSOnSIGHUP re-reads the --jwt-jwks file on every SIGHUP until the
// returned stop is called (which waits for the watcher goroutine). A file
// that fails to load is logged and the keys in use stay. Without
// --jwt-jwks it does nothing. It has a signal channel of its own, so other
// SIGHUP handling (if any) is unaffected.
func (a *app) reloadJWKSOnSIGHUP() (stop func()) {
	if a.auth == nil || a.cfg.jwtJWKS == "" {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case <-hup:
				if err := a.auth.Reload(); err != nil {
					a.log.Error("jwks reload failed; keeping the keys in use", "file", a.cfg.jwtJWKS, "err", err)
				} else {
					a.log.Info("jwks reloaded", "file", a.cfg.jwtJWKS, "keys", a.auth.Keys().Len())
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-exited
	}
}

package turn

import (
	"crypto/tls"
	"errors"
	"net"
)

// ListenAndServe serves STUN and TURN over UDP (ServeUDP) and TCP
// (ServeTCP) on addr, the --turn-listen address, e.g. ":3478" (IPv4 UDP,
// dual-stack TCP). Both use the same port (the one TCP bound, when addr
// has port 0). It blocks until Shutdown and returns ErrServerClosed, or
// returns the first error that stops either transport.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		ln.Close()
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	errc := make(chan error, 2)
	go func() { errc <- s.ServeTCP(ln) }()
	go func() { errc <- s.ServeUDP(net.JoinHostPort(host, port)) }()
	first := <-errc
	if errors.Is(first, ErrServerClosed) {
		return <-errc
	}
	// One transport failed. Stop TCP; a UDP side that still runs ends at
	// Shutdown, as every Serve method does.
	ln.Close()
	return first
}

// ListenAndServeTLS serves TURN over TLS (TURNS) on addr, the
// --turn-tls-listen address, until Shutdown.
func (s *Server) ListenAndServeTLS(addr string, cfg *tls.Config) error {
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		return err
	}
	return s.ServeTCP(ln)
}

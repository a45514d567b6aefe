// Package turn is a STUN (RFC 8489) and TURN (RFC 8656, RFC 6156, and
// RFC 6062 for TCP allocations) server over UDP, TCP and TLS, built so that
// relaying costs little.
//
// # Use
//
//	s, err := turn.New(turn.Config{
//		Realm:   "example.org",
//		Secret:  secret,                      // TURN REST credentials
//		Users:   map[string]string{"a": "b"}, // static users
//		RelayIP: netip.MustParseAddr("203.0.113.5"),
//	})
//	go s.ServeUDP(":3478")                  // SO_REUSEPORT sockets, batched I/O
//	ln, _ := net.Listen("tcp", ":3478")
//	go s.ServeTCP(ln)                       // TURN over TCP
//	go s.ServeTCP(tls.NewListener(tln, tc)) // TURN over TLS
//	...
//	s.Shutdown(ctx)
//
// ListenAndServe(addr) does the UDP and TCP pair on one port (the
// --turn-listen flag) and ListenAndServeTLS(addr, cfg) the TLS listener
// (--turn-tls-listen).
//
// New starts nothing; each Serve method blocks until Shutdown and then
// returns ErrServerClosed; Shutdown deletes every allocation, closes every
// socket and connection the server was given and waits for its goroutines.
// ServePacket serves a caller's net.PacketConn.
//
// Signaling hands out credentials with RESTCredentials; flag values are
// parsed with ParseUser and ParsePeerPrefix; DefaultRelayIP is the
// --turn-relay-ip default.
//
// # What is served
//
//   - Binding (RFC 8489 §7.3.1) on every transport, without credentials.
//   - Allocate, Refresh, CreatePermission, ChannelBind, Send and Data
//     indications and ChannelData (RFC 8656 §7-§12), with long-term
//     credentials (RFC 8489 §9.2): 401 with REALM and NONCE first, 438
//     when the stateless nonce has expired, 401 for an unknown user or a
//     wrong password; MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.
//   - REQUESTED-TRANSPORT UDP, or TCP from a TCP or TLS client (442 for
//     anything else); REQUESTED-ADDRESS-FAMILY
//     IPv6 when Config.RelayIPv6 is set (440 otherwise; RFC 6156);
//     ADDITIONAL-ADDRESS-FAMILY answered with ADDRESS-ERROR-CODE 440;
//     EVEN-PORT honoured, with the R bit reserving the next port for 30 s
//     under a RESERVATION-TOKEN; DONT-FRAGMENT sets DF on the relay socket.
//   - TCP allocations (RFC 6062): over a TCP or TLS control connection,
//     Allocate with REQUESTED-TRANSPORT TCP gets a TCP listening socket as
//     its relayed address (over UDP, or with EVEN-PORT, RESERVATION-TOKEN
//     or DONT-FRAGMENT: 400; §5.1). Connect (§5.2) opens a connection from
//     the relayed address to the peer (403 for a denied peer, 446 while
//     one to that peer is in progress or open, 447 when it fails or takes
//     over 15 s) and answers with CONNECTION-ID; a permitted peer's
//     connection to the relayed address is announced with a
//     ConnectionAttempt indication (§5.3; others are closed at once).
//     ConnectionBind with that CONNECTION-ID on a new client connection
//     (§5.4; unknown or taken: 400) turns it into a data connection that
//     carries raw bytes both ways with the peer's; a connection not bound
//     within 30 s is closed. Either side's close closes both, and deleting
//     the allocation closes all of them (§5.5). ChannelBind on a TCP
//     allocation is 400 and Send indications are dropped.
//   - Quotas: Config.UserQuota, IPQuota and MaxAllocations (486),
//     Config.MaxTCPConnections peer connections per TCP allocation (486),
//     and a per-allocation bandwidth cap (Config.MaxBitrate): UDP relaying
//     drops the excess, TCP data connections are paced.
//   - A peer deny-list on by default (see Config.AllowPeers and
//     Server.PeerAllowed): loopback, private, link-local, CGNAT,
//     multicast, unspecified, their IPv4-mapped/compatible/6to4/Teredo/NAT64
//     forms and the server's own addresses get 403.
//
// # How relaying works (Linux)
//
// A relay socket is a raw non-blocking UDP socket with no goroutine: a few
// relay loops (Config.RelayLoops, default half of GOMAXPROCS) wait on all of
// them with epoll, drain ready sockets with recvmmsg into one shared batch,
// write the ChannelData header or Data indication into headroom in front
// of each payload (no copy), and send the lot to UDP clients with one
// sendmmsg. Client-facing UDP sockets (Config.UDPSockets, SO_REUSEPORT,
// Config.SocketBuffer bytes of kernel buffer each) are read with recvmmsg;
// ChannelData goes to the peer with one sendto. Nothing on these paths
// allocates. A TCP or TLS client has one reader goroutine and a writer
// goroutine only while output is queued, with output bounded. A TCP
// allocation has an accept goroutine, and each bound pair of data
// connections two copying goroutines with a 16 KiB buffer each: a slow
// side slows the other through TCP flow control rather than queueing.
//
// Listening on a wildcard address of a multi-homed host may answer from a
// different source address than the client used; listen on specific
// addresses there.
//
// The package builds on 64-bit Linux.
package turn

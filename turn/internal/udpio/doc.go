// Package udpio is the raw-socket layer under the TURN relay on Linux:
// non-blocking UDP sockets, recvmmsg/sendmmsg batches that decode and encode
// socket addresses without allocating, and a thin epoll wrapper.
//
// golang.org/x/net/ipv4's ReadBatch returns a freshly allocated *net.UDPAddr
// per datagram and needs a net.PacketConn per socket, which means a runtime
// poller registration and, to read it, a goroutine per relay socket. This
// package works on file descriptors so that a handful of event loops can
// serve every relay socket, and a received datagram costs no allocation.
package udpio

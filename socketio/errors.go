package socketio

import (
	"errors"
	"fmt"
)

// DisconnectReason says why a socket left its namespace. The values are the
// strings socket.io's reference server reports, so clients and logs agree
// (socket.io, packages/socket.io/lib/socket.ts, DisconnectReason).
type DisconnectReason string

// Reasons a socket disconnects.
const (
	// ReasonTransportError: the Engine.IO connection failed.
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonTransportClose: the peer closed the Engine.IO connection.
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonForcedClose: the peer closed its Engine.IO session (CLOSE packet).
	ReasonForcedClose DisconnectReason = "forced close"
	// ReasonPingTimeout: the peer missed a heartbeat.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonParseError: the peer sent a packet that does not decode.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonServerShuttingDown: Server.Shutdown was called.
	ReasonServerShuttingDown DisconnectReason = "server shutting down"
	// ReasonForcedServerClose: the server closed the whole connection
	// (Socket.Disconnect(true)).
	ReasonForcedServerClose DisconnectReason = "forced server close"
	// ReasonClientNamespaceDisconnect: the client sent DISCONNECT.
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: the server called
	// Socket.Disconnect(false).
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	// ReasonServerError: a handler of the connection panicked; the panic was
	// logged and the connection closed.
	ReasonServerError DisconnectReason = "server error"
	// ReasonSlowHandlers: the client sent packets faster than its handlers
	// ran and its inbound queue (Config.MaxPendingPackets) overflowed.
	ReasonSlowHandlers DisconnectReason = "too many pending packets"
)

// Recoverable reports whether a socket that left for reason r may be restored
// by connection-state recovery (RECOVERABLE_DISCONNECT_REASONS in socket.ts).
func (r DisconnectReason) Recoverable() bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
		ReasonServerShuttingDown, ReasonForcedServerClose:
		return true
	}
	return false
}

var (
	// ErrDisconnected is returned by emits and acknowledgement waits on a
	// socket that has left its namespace.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrServerClosed is returned once Shutdown has begun.
	ErrServerClosed = errors.New("socketio: server closed")
)

// ConnectError is returned by namespace middleware to refuse a connection with
// a CONNECT_ERROR packet carrying {"message": Message, "data": Data}. Any other
// error refuses it with {"message": err.Error()}.
type ConnectError struct {
	Message string
	Data    any // encoded as JSON; omitted when nil
}

func (e *ConnectError) Error() string { return e.Message }

// AckError is the error of an acknowledgement wait that ended without a reply.
type AckError struct {
	Event string
	Err   error // context error or ErrDisconnected
}

func (e *AckError) Error() string { return fmt.Sprintf("socketio: ack of %q: %v", e.Event, e.Err) }
func (e *AckError) Unwrap() error { return e.Err }

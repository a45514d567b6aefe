package signaling

import "errors"

// Peer is the transport side of one signaling client, as the Hub sees it.
type Peer interface {
	// Send queues one text frame for the client. It must not block, must
	// not keep frame after returning, and must not call back into the Hub.
	// An error means the frame was not queued: the transport is closing or
	// the client is too slow, and the transport disconnects it.
	Send(frame []byte) error
	// Close disconnects the client because of reason (an *message.Error
	// after repeated abuse, or ErrShutdown). It must not block and must
	// not call back into the Hub; the transport reports the disconnection
	// later with Session.Disconnect. Calling it twice is harmless.
	Close(reason error)
}

// ErrShutdown is the reason given to Peer.Close when the hub shuts down.
var ErrShutdown = errors.New("signaling: server shutting down")

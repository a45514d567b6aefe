package engineio

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/engineio/packet"
)

// The HTTP long-polling transport (protocol v4, section "Transports / HTTP
// long-polling"): GET requests wait for packets, POST requests deliver
// them. At most one of each may be active per session; a second one is
// answered 400 and closes the session ("the server MUST return an HTTP 400
// error status and close the session").

var (
	errDuplicatePoll = errors.New("engineio: overlapping GET requests from client")
	errDuplicatePost = errors.New("engineio: overlapping POST requests from client")
	errPollAborted   = errors.New("engineio: poll request closed prematurely")
	errBinaryPost    = errors.New("engineio: binary POST body (application/octet-stream) in protocol v4")
)

// handshakePolling opens a session over polling: the handshake GET is
// answered at once with the open packet (and whatever the Handler sent from
// OnOpen).
func (srv *Server) handshakePolling(w http.ResponseWriter, r *http.Request, arrived time.Time) {
	s := srv.openSession(handshakeRequest(r), nil, arrived)
	if s == nil {
		writeRequestError(w, reqErr(CodeBadRequest, "server shutting down"))
		return
	}
	s.servePoll(w, r)
}

// servePoll answers a GET: at once with the queued packets, or when some
// arrive, or when the session closes or upgrades. A poll is never left
// hanging: every path that ends the session or the transport answers it.
func (s *Socket) servePoll(w http.ResponseWriter, r *http.Request) {
	var pw *pollWait
	var body []byte
	s.mu.Lock()
	s.expiredLocked()
	switch {
	case s.state == stClosed || s.transport != Polling:
		s.mu.Unlock()
		s.notifyClose()
		writeRequestError(w, reqErr(CodeUnknownSID, "session closed"))
		return
	case s.poll != nil:
		// The reference answers the first poll with a close packet and
		// this one with an error (lib/transports/polling.ts, onPollRequest).
		s.closeLocked(ReasonTransportError, errDuplicatePoll, false)
		s.mu.Unlock()
		s.notifyClose()
		writeRequestError(w, reqErr(CodeBadRequest, errDuplicatePoll.Error()))
		return
	case s.state == stClosing:
		if len(s.queue) > 0 {
			body = append(s.takeQueueLocked(nil), packet.Separator)
		}
		body = append(body, s.srv.closePkt.wire...)
		s.finishLocked(true, closeNormal)
	case len(s.queue) > 0:
		body = s.takeQueueLocked(nil)
	default:
		// Also while upgrading: the noop that lets the client pause
		// polling comes from armNoopLocked's timer, unless packets come
		// first.
		pw = &pollWait{done: make(chan struct{})}
		s.poll = pw
	}
	s.mu.Unlock()
	if pw != nil {
		select {
		case <-pw.done:
			body = pw.body
		case <-r.Context().Done():
			s.mu.Lock()
			if s.poll == pw {
				s.poll = nil
				s.closeLocked(ReasonTransportError, errPollAborted, false)
			}
			s.mu.Unlock()
			s.notifyClose()
			select {
			case <-pw.done: // answered meanwhile: try to deliver it anyway
				body = pw.body
			default:
				return
			}
		}
	}
	s.srv.writePollBody(w, r, body)
}

// serveData reads a POST and hands its packets to the session, in order.
// The answer is 200 "ok"; a malformed payload is 400 and closes the session
// (ReasonParseError); a body over MaxPayload is 413 and closes it.
func (s *Socket) serveData(w http.ResponseWriter, r *http.Request) {
	cfg := &s.srv.cfg
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// v4 payloads are always text (section "Packet encoding").
		s.closeWith(ReasonTransportError, errBinaryPost, false)
		writeRequestError(w, reqErr(CodeBadRequest, errBinaryPost.Error()))
		return
	}
	s.mu.Lock()
	if s.expiredLocked() && s.state == stClosed {
		s.mu.Unlock()
		s.notifyClose()
		writeRequestError(w, reqErr(CodeUnknownSID, "session closed"))
		return
	}
	if s.posting {
		s.closeLocked(ReasonTransportError, errDuplicatePost, false)
		s.mu.Unlock()
		s.notifyClose()
		writeRequestError(w, reqErr(CodeBadRequest, errDuplicatePost.Error()))
		return
	}
	s.posting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	if r.ContentLength > int64(cfg.MaxPayload) {
		s.tooLarge(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(cfg.MaxPayload)+1))
	if err != nil {
		s.closeWith(ReasonTransportError, fmt.Errorf("engineio: reading POST body: %w", err), false)
		writeRequestError(w, reqErr(CodeBadRequest, "reading body"))
		return
	}
	if len(body) > cfg.MaxPayload {
		s.tooLarge(w)
		return
	}
	pkts, err := packet.DecodePayload(nil, body, 0) // MaxPayload bounds the count
	if err != nil {
		s.closeWith(ReasonParseError, err, false)
		writeRequestError(w, reqErr(CodeBadRequest, err.Error()))
		return
	}
	for _, p := range pkts {
		if s.closePending.Load() {
			break // the rest would be dropped anyway
		}
		if p.Type == packet.Message {
			s.srv.stats.polling.in(len(p.Data))
		}
		s.onPacket(p)
	}
	h := w.Header()
	// text/html as in the reference, for old user agents (lib/transports/polling.ts).
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

func (s *Socket) tooLarge(w http.ResponseWriter) {
	s.srv.stats.tooLarge.Add(1)
	s.closeWith(ReasonTransportError, ErrPayloadTooLarge, false)
	w.Header().Set("Connection", "close") // the rest of the body is not read
	w.WriteHeader(http.StatusRequestEntityTooLarge)
}

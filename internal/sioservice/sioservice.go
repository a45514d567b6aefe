// Package sioservice is the Socket.IO service the switchboard binary offers on
// its default namespace without any Go code (CONTRACT.md, "Socket.IO default
// namespace"):
//
//   - "join" (room, ack): joins room; acks {"ok":true,"room":R,"members":N},
//     N counted across the cluster.
//   - "leave" (room, ack): leaves room; acks {"ok":true,"room":R}.
//   - "publish" ({room, event, data}, ack): emits event(data) to the room's
//     other members, binary attachments included, then acks {"ok":true}.
//   - POST /api/publish with body {room, event, data} and
//     "Authorization: Bearer <api key>": emits event(data) to the room;
//     200 delivered, 401 bad or missing key (always, when no key is
//     configured), 400 malformed body.
//
// Invalid requests are acked {"ok":false,"error":"..."}, and so are requests
// over the Limits of InstallWith ("rate_limited", "too_many_rooms",
// "room_full"). data is passed on byte for byte.
//
// With a JWT verifier ([InstallWithAuth]; the binary's --jwt-* flags) a
// client must connect with a token in its CONNECT auth payload,
// {"token":"<JWT>"} (socket.io-client's `auth: {token}`); a missing or
// invalid one is refused with CONNECT_ERROR {"message":"unauthorized"}. The
// token is checked at connect; its claims (package auth) then decide each
// join and publish, which are acked {"ok":false,"error":"forbidden"} for a
// room they do not admit. The socket's Data is its *auth.Claims. A socket
// recovered by connection-state recovery keeps the claims it connected
// with.
package sioservice

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/auth"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

// MaxRoomName bounds room names, in bytes.
const MaxRoomName = 256

// MaxBody bounds the body of POST /api/publish (the binary's
// maxHttpBufferSize).
const MaxBody = 1_000_000

// countTimeout bounds the cluster-wide member count of a join ack.
const countTimeout = 5 * time.Second

// Options configure the service.
type Options struct {
	// Auth, when set, requires a JWT at connect and checks its room claims
	// on join and publish (see the package doc).
	Auth *auth.Verifier
	// Limits bound each socket's events and rooms; the zero value sets none.
	Limits Limits
	// Logger gets refusals at debug level. Default slog.Default().
	Logger *slog.Logger
}

// Install registers the join, leave and publish events on nsp, open and
// without limits.
func Install(nsp *socketio.Namespace) { InstallWith(nsp, Options{}) }

// InstallWithAuth is Install with JWT authentication by v (see Options).
func InstallWithAuth(nsp *socketio.Namespace, v *auth.Verifier, log *slog.Logger) {
	InstallWith(nsp, Options{Auth: v, Logger: log})
}

// InstallWithLimits is Install under lim (see Options).
func InstallWithLimits(nsp *socketio.Namespace, lim Limits) (stats func() Stats) {
	return InstallWith(nsp, Options{Limits: lim})
}

// InstallWith registers the join, leave and publish events on nsp with o,
// and returns a function that reads the limits' counters.
func InstallWith(nsp *socketio.Namespace, o Options) (stats func() Stats) {
	v, log := o.Auth, o.Logger
	if v != nil {
		if log == nil {
			log = slog.Default()
		}
		nsp.Use(func(ctx context.Context, s *socketio.Socket) error {
			return authenticate(v, s, log)
		})
	}
	l := newLimiter(o.Limits, nsp)
	on := func(event string, h socketio.EventHandler) { nsp.On(event, l.wrap(h)) }
	on("join", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		room, err := roomArg(args)
		if err != nil {
			return failure(err), nil
		}
		if v != nil && !claimsOf(s).CanJoin(room) {
			return failure(errForbidden), nil
		}
		member, err := l.checkRooms(s, room)
		if err != nil {
			return failure(err), nil
		}
		s.Join(room)
		// Not a child of the socket's context: deriving from it would leave
		// a children map and a done channel in every socket that ever
		// joined (≈ 460 B each, docs/benchmarks-sio.md P2).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), countTimeout)
		defer cancel()
		members, err := roomSize(ctx, nsp, room)
		if err != nil {
			return failure(err), nil
		}
		if !member && l.overSize(members) {
			s.Leave(room)
			return failure(errRoomFull), nil
		}
		return joinAck{OK: true, Room: room, Members: members}, nil
	})
	on("leave", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		room, err := roomArg(args)
		if err != nil {
			return failure(err), nil
		}
		s.Leave(room)
		return roomAck{OK: true, Room: room}, nil
	})
	on("publish", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		req, err := parseRequest(args.Raw(0), true) // the packet decoder validated it
		if err != nil {
			return failure(errors.New("publish wants {room, event, data}")), nil
		}
		if err := req.validate(); err != nil {
			return failure(err), nil
		}
		if v != nil && !claimsOf(s).CanPublish(*req.Room) {
			return failure(errForbidden), nil
		}
		var out []any
		if req.Data != nil {
			out = append(out, packet.Raw{JSON: req.Data, Attachments: args.Attachments()})
		}
		if err := s.To(*req.Room).Emit(*req.Event, out...); err != nil {
			return failure(err), nil
		}
		return map[string]any{"ok": true}, nil
	})
	return l.stats
}

// Acks in the field order of CONTRACT.md.
type joinAck struct {
	OK      bool   `json:"ok"`
	Room    string `json:"room"`
	Members int    `json:"members"`
}

type roomAck struct {
	OK   bool   `json:"ok"`
	Room string `json:"room"`
}

// request is the body of a publish, from a socket or from the HTTP API.
type request struct {
	Room  *string         `json:"room"`
	Event *string         `json:"event"`
	Data  json.RawMessage `json:"data"`
}

func (r *request) validate() error {
	if r.Room == nil || *r.Room == "" || len(*r.Room) > MaxRoomName {
		return errors.New("room must be a non-empty string")
	}
	if r.Event == nil || *r.Event == "" {
		return errors.New("event must be a non-empty string")
	}
	if packet.IsReservedEvent(*r.Event) {
		return errors.New("event " + *r.Event + " is reserved")
	}
	return nil
}

func roomArg(args socketio.Args) (string, error) {
	room, ok := args.String(0)
	if !ok || room == "" || len(room) > MaxRoomName {
		return "", errors.New("room must be a non-empty string")
	}
	return room, nil
}

type failureAck struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func failure(err error) failureAck { return failureAck{Error: err.Error()} }

// PublishHandler serves POST /api/publish for nsp. With an empty apiKey every
// request is refused with 401.
func PublishHandler(nsp *socketio.Namespace, apiKey string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			reply(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if apiKey == "" || !ok || subtle.ConstantTimeCompare([]byte(token), []byte(apiKey)) != 1 {
			reply(w, http.StatusUnauthorized, "bad api key")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			reply(w, http.StatusBadRequest, "body too large or unreadable")
			return
		}
		req, err := parseRequest(body, false)
		if err != nil {
			reply(w, http.StatusBadRequest, "body must be {room, event, data}")
			return
		}
		if err := req.validate(); err != nil {
			reply(w, http.StatusBadRequest, err.Error())
			return
		}
		var out []any
		if req.Data != nil {
			out = append(out, req.Data)
		}
		if err := nsp.To(*req.Room).Emit(*req.Event, out...); err != nil {
			log.Warn("api publish failed", "room", *req.Room, "err", err)
			reply(w, http.StatusInternalServerError, "publish failed")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"ok":true}`)
	})
}

func reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b := packet.AppendString([]byte(`{"ok":false,"error":`), msg)
	w.Write(append(b, '}'))
}

// roomSize counts the members of room across the cluster without describing
// them: FetchSockets would copy every member's handshake on every join, which
// makes filling a large room quadratic. The memory adapter counts in O(1).
func roomSize(ctx context.Context, nsp *socketio.Namespace, room string) (int, error) {
	return nsp.In(room).CountSockets(ctx)
}

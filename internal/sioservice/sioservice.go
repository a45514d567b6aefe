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
// over the Limits of InstallWithLimits ("rate_limited", "too_many_rooms",
// "room_full"). data is passed on byte for byte.
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

// Install registers the join, leave and publish events on nsp, with no
// limits.
func Install(nsp *socketio.Namespace) { InstallWithLimits(nsp, Limits{}) }

// InstallWithLimits registers the join, leave and publish events on nsp
// under lim, and returns a function that reads the limits' counters.
func InstallWithLimits(nsp *socketio.Namespace, lim Limits) (stats func() Stats) {
	l := newLimiter(lim, nsp)
	on := func(event string, h socketio.EventHandler) { nsp.On(event, l.wrap(h)) }
	on("join", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		room, err := roomArg(args)
		if err != nil {
			return failure(err), nil
		}
		member, err := l.checkRooms(s, room)
		if err != nil {
			return failure(err), nil
		}
		s.Join(room)
		ctx, cancel := context.WithTimeout(ctx, countTimeout)
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
		var req request
		if err := json.Unmarshal(args.Raw(0), &req); err != nil {
			return failure(errors.New("publish wants {room, event, data}")), nil
		}
		if err := req.validate(); err != nil {
			return failure(err), nil
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
		var req request
		if err := json.Unmarshal(body, &req); err != nil {
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

// socketIDCounter is implemented by cluster adapters that can list a room's
// members on every node without describing each socket (the Redis adapter).
type socketIDCounter interface {
	SocketIDs(ctx context.Context, opts socketio.BroadcastOptions) ([]string, error)
}

// roomSize counts the members of room across the cluster as cheaply as the
// namespace's adapter allows: FetchSockets would copy every member's
// handshake on every join, which makes filling a large room quadratic in
// far more than ids.
func roomSize(ctx context.Context, nsp *socketio.Namespace, room string) (int, error) {
	opts := socketio.BroadcastOptions{Rooms: []string{room}}
	switch a := nsp.Adapter().(type) {
	case *socketio.MemoryAdapter: // one node: the local ids are all of them
		return len(a.Sockets(opts)), nil
	case socketIDCounter:
		ids, err := a.SocketIDs(ctx, opts)
		return len(ids), err
	}
	members, err := nsp.In(room).FetchSockets(ctx)
	return len(members), err
}

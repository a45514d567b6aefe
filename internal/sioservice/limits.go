package sioservice

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/limit"
	"github.com/switchboard/switchboard/socketio"
)

// Limits bound what one Socket.IO connection may do with the service. The
// zero value limits nothing.
type Limits struct {
	// MessageRate bounds each socket's join, leave and publish events with
	// a token bucket: MessageBurst at once, refilled at MessageRate per
	// second. An event over it is dropped and, when it asked for an ack,
	// acked {"ok":false,"error":"rate_limited"}; a socket that keeps going
	// (more than MessageBurst events refused since its last accepted one)
	// is disconnected. 0: unlimited.
	MessageRate float64
	// MessageBurst defaults to two seconds' worth of MessageRate.
	MessageBurst int
	// MaxRooms is how many rooms a socket may be in (its own not
	// counted); a join beyond it is acked {"ok":false,"error":"too_many_rooms"}.
	// 0: unlimited.
	MaxRooms int
	// MaxRoomSize is how many members (across the cluster) a room may
	// have; a join beyond it is acked {"ok":false,"error":"room_full"}.
	// 0: unlimited.
	MaxRoomSize int

	// Now is the clock of the rate limit. Default time.Now.
	Now func() time.Time
}

// Limit errors, as they appear in acks.
var (
	errRateLimited  = errors.New("rate_limited")
	errTooManyRooms = errors.New("too_many_rooms")
	errRoomFull     = errors.New("room_full")
)

// Stats count the limits' refusals, for metrics.
type Stats struct {
	RateLimited  uint64 // events refused by MessageRate
	Disconnected uint64 // sockets disconnected for exceeding MessageRate
	TooManyRooms uint64 // joins refused by MaxRooms
	RoomFull     uint64 // joins refused by MaxRoomSize
}

// limiter applies Limits to a namespace's sockets.
type limiter struct {
	Limits
	buckets sync.Map // *socketio.Socket -> *socketBucket

	rateLimited, disconnected, tooManyRooms, roomFull atomic.Uint64
}

// socketBucket is touched only by its socket's handler goroutine (one at a
// time per client), and removed at disconnect.
type socketBucket struct {
	limit.Bucket
	strikes int
}

func newLimiter(l Limits, nsp *socketio.Namespace) *limiter {
	if l.MessageBurst <= 0 {
		l.MessageBurst = max(1, int(2*l.MessageRate))
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	lim := &limiter{Limits: l}
	if l.MessageRate > 0 {
		nsp.OnDisconnect(func(s *socketio.Socket, _ socketio.DisconnectReason) { lim.buckets.Delete(s) })
	}
	return lim
}

// wrap applies the message rate to an event handler.
func (lim *limiter) wrap(h socketio.EventHandler) socketio.EventHandler {
	if lim.MessageRate <= 0 {
		return h
	}
	return func(ctx context.Context, s *socketio.Socket, args socketio.Args) (any, error) {
		v, ok := lim.buckets.Load(s)
		if !ok {
			v, _ = lim.buckets.LoadOrStore(s, &socketBucket{})
			if !s.Connected() { // gone meanwhile: OnDisconnect may have run already
				lim.buckets.Delete(s)
			}
		}
		b := v.(*socketBucket)
		if b.Take(lim.Now(), lim.MessageRate, lim.MessageBurst) {
			b.strikes = 0
			return h(ctx, s, args)
		}
		lim.rateLimited.Add(1)
		if b.strikes++; b.strikes > lim.MessageBurst {
			lim.disconnected.Add(1)
			s.Disconnect(true)
			return socketio.NoAck, nil
		}
		return failure(errRateLimited), nil
	}
}

// checkRooms refuses a join to a new room beyond MaxRooms; member reports
// whether the socket is in the room already.
func (lim *limiter) checkRooms(s *socketio.Socket, room string) (member bool, err error) {
	rooms := s.Rooms()
	others := 0
	for _, r := range rooms {
		if r == room {
			member = true
		}
		if r != s.ID() {
			others++
		}
	}
	if !member && lim.MaxRooms > 0 && others >= lim.MaxRooms {
		lim.tooManyRooms.Add(1)
		return false, errTooManyRooms
	}
	return member, nil
}

// roomFull reports whether a room that a socket just joined is over
// MaxRoomSize.
func (lim *limiter) overSize(members int) bool {
	if lim.MaxRoomSize > 0 && members > lim.MaxRoomSize {
		lim.roomFull.Add(1)
		return true
	}
	return false
}

func (lim *limiter) stats() Stats {
	return Stats{
		RateLimited:  lim.rateLimited.Load(),
		Disconnected: lim.disconnected.Load(),
		TooManyRooms: lim.tooManyRooms.Load(),
		RoomFull:     lim.roomFull.Load(),
	}
}

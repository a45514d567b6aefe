package redisadapter

import (
	"context"
	"encoding/json"

	"github.com/switchboard/switchboard/adapter/redis/wire"
	"github.com/switchboard/switchboard/socketio"
	"github.com/switchboard/switchboard/socketio/packet"
)

// onRequest handles a message of the request channel (onrequest). It runs
// on the subscriber goroutine, so requests that only touch this node's
// memory are handled in order, at once; those that run application code
// (disconnect and server-side emit handlers) get a goroutine of their own.
func (a *Adapter) onRequest(payload []byte) {
	r, err := wire.DecodeRequest(payload)
	if err != nil {
		a.c.log.Debug("redisadapter: bad request", "nsp", a.nsp.Name(), "err", err)
		return
	}
	mine := r.UID == a.c.uid
	ctx := context.Background()
	switch r.Type {
	case wire.Sockets:
		if mine {
			return
		}
		sids := a.MemoryAdapter.Sockets(socketio.BroadcastOptions{Rooms: r.Rooms})
		if sids == nil {
			sids = []string{}
		}
		b, _ := json.Marshal(sids)
		a.respond(r, &wire.Response{RequestID: r.RequestID, Sockets: b})
	case wire.AllRooms:
		if mine {
			return
		}
		a.respond(r, &wire.Response{RequestID: r.RequestID, Rooms: append([]string{}, a.localRooms()...)})
	case wire.RemoteJoin, wire.RemoteLeave:
		if mine {
			return // applied locally before publishing
		}
		if r.Opts != nil {
			if r.Type == wire.RemoteJoin {
				_ = a.MemoryAdapter.AddSockets(ctx, localOpts(r.Opts), r.Rooms)
			} else {
				_ = a.MemoryAdapter.DelSockets(ctx, localOpts(r.Opts), r.Rooms)
			}
			return
		}
		s, ok := a.nsp.Socket(r.SID) // the by-socket-id form of older adapters
		if !ok {
			return
		}
		if r.Type == wire.RemoteJoin {
			s.Join(r.Room)
		} else {
			s.Leave(r.Room)
		}
		a.respond(r, &wire.Response{RequestID: r.RequestID})
	case wire.RemoteDisconnect:
		if mine {
			return
		}
		a.c.goRequest("disconnect", func() {
			if r.Opts != nil {
				_ = a.MemoryAdapter.DisconnectSockets(ctx, localOpts(r.Opts), r.Close)
				return
			}
			if s, ok := a.nsp.Socket(r.SID); ok {
				s.Disconnect(r.Close)
				a.respond(r, &wire.Response{RequestID: r.RequestID})
			}
		})
	case wire.RemoteFetch:
		if mine {
			return
		}
		var opts socketio.BroadcastOptions
		if r.Opts != nil {
			opts = localOpts(r.Opts)
		}
		infos, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
		a.respond(r, &wire.Response{RequestID: r.RequestID, Sockets: encodeSockets(infos)})
	case wire.ServerSideEmit:
		if mine {
			return
		}
		a.c.goRequest("serverSideEmit", func() { a.serverSideEmitted(ctx, r) })
	case wire.BroadcastWithAck:
		if mine {
			return
		}
		a.broadcastForAck(ctx, r)
	}
}

// serverSideEmitted runs the namespace's server-side handler for a request
// and answers it when the sender wants an ack. The answer always goes to the
// shared response channel, as the Node.js adapter does.
func (a *Adapter) serverSideEmitted(ctx context.Context, r *wire.Request) {
	elems, err := packet.SplitArray(r.Data)
	if err != nil || len(elems) == 0 {
		return
	}
	var event string
	if json.Unmarshal(elems[0], &event) != nil {
		return
	}
	values, err := a.nsp.HandleServerSideEmit(ctx, event, socketio.NewArgs(elems[1:], nil))
	if err != nil || r.RequestID == "" {
		return
	}
	data := json.RawMessage("null")
	if len(values) > 0 {
		if values[0] == socketio.NoAck {
			return
		}
		b, atts, err := packet.AppendValue(nil, nil, values[0])
		if err != nil || len(atts) > 0 {
			a.c.log.Warn("redisadapter: server-side emit answer is not plain JSON", "event", event, "err", err)
			return
		}
		data = b
	}
	resp := &wire.Response{Type: wire.ServerSideEmit, RequestID: r.RequestID, Data: data}
	if payload, err := wire.AppendResponse(nil, resp); err == nil {
		a.c.enqueue(a.responseChannel, payload)
	}
}

// broadcastForAck delivers another node's broadcast with ack to local
// sockets: the client count first, then each client's reply.
func (a *Adapter) broadcastForAck(ctx context.Context, r *wire.Request) {
	a.mu.Lock()
	_, ours := a.acks[r.RequestID]
	a.mu.Unlock()
	if ours || r.Packet == nil || r.Opts == nil {
		return
	}
	_ = a.MemoryAdapter.BroadcastWithAck(ctx, localPacket(r.Packet), localOpts(r.Opts),
		func(n int) {
			a.respond(r, &wire.Response{Type: wire.BroadcastClientCount, RequestID: r.RequestID, ClientCount: n})
		},
		func(args socketio.Args, err error) {
			if err != nil {
				return // the client left: the Node.js adapter sends nothing either
			}
			a.respond(r, &wire.Response{Type: wire.BroadcastAck, RequestID: r.RequestID, Ack: args.Raw(0), AckAttachments: args.Attachments()})
		})
}

// respond publishes the response to r.
func (a *Adapter) respond(r *wire.Request, resp *wire.Response) {
	payload, err := wire.AppendResponse(nil, resp)
	if err != nil {
		a.c.log.Debug("redisadapter: cannot encode response", "nsp", a.nsp.Name(), "err", err)
		return
	}
	ch := a.responseChannel
	if a.c.opts.PublishOnSpecificResponseChannel {
		ch += r.UID + "#"
	}
	a.c.enqueue(ch, payload)
}

// onResponse handles a message of the response channels (onresponse).
func (a *Adapter) onResponse(payload []byte) {
	r, err := wire.DecodeResponse(payload)
	if err != nil {
		a.c.log.Debug("redisadapter: bad response", "nsp", a.nsp.Name(), "err", err)
		return
	}
	a.mu.Lock()
	ar := a.acks[r.RequestID]
	p := a.requests[r.RequestID]
	a.mu.Unlock()
	if ar != nil {
		switch r.Type {
		case wire.BroadcastClientCount:
			ar.count(r.ClientCount)
		case wire.BroadcastAck:
			ar.onReply(socketio.NewArgs([]json.RawMessage{rawOrNull(r.Ack)}, r.AckAttachments), nil)
			ar.reply()
		}
		if ar.complete() {
			a.mu.Lock()
			delete(a.acks, r.RequestID)
			a.mu.Unlock()
		}
		return
	}
	if p != nil {
		p.add(r)
	}
}

package socketio

import "context"

// Handle registers a typed handler for event on r (a Namespace or a
// ParentNamespace): the event's first argument is decoded into In with
// encoding/json (binary attachments decode into []byte), and the returned Out
// is the acknowledgement. A decoding error is returned to the client's ack as
// {"message": ...} without calling h.
//
//	socketio.Handle(nsp, "add", func(ctx context.Context, s *socketio.Socket, in struct{ A, B int }) (int, error) {
//		return in.A + in.B, nil
//	})
func Handle[In, Out any](r interface{ On(string, EventHandler) }, event string, h func(ctx context.Context, s *Socket, in In) (Out, error)) {
	r.On(event, func(ctx context.Context, s *Socket, args Args) (any, error) {
		var in In
		if err := args.Decode(0, &in); err != nil {
			return nil, err
		}
		out, err := h(ctx, s, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	})
}

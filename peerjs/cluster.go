package peerjs

// Cluster lets the PeerJS Servers of several nodes act as one: ids are
// unique across them, and OFFER, ANSWER, CANDIDATE, LEAVE and EXPIRE reach
// the destination id on whichever node holds it. Set it in Config.Cluster;
// without it a Server is standalone. Package redisadapter implements it.
//
// The Server calls these methods from connection handlers that run on the
// WebSocket event loops, with its own lock held, so none of them may block
// or call back into the Server before returning: results come later through
// the callbacks, from a goroutine of the Cluster, in the order of the calls.
type Cluster interface {
	// Attach is called once by New with the Server's Inbox, through which
	// the Cluster delivers frames for this node's ids and reports ids
	// taken over by another node. A Cluster serves one Server.
	Attach(in Inbox) error
	// Claim asks to hold id for token across the cluster. It returns
	// false when it cannot ask now (the cluster is unreachable): the
	// Server then serves the id on its own, and the Cluster claims it when
	// it can (reporting Inbox.Lost if another node has it by then).
	// Otherwise done is called once, taken reporting that another node
	// holds id with another token. The same token takes an id over from
	// another node, as it does on one node.
	Claim(id, token string, done func(taken bool)) bool
	// Release gives id up; this node no longer holds it.
	Release(id string)
	// Send delivers frame (from src, of type t) to the node holding dst.
	// It returns false when it cannot try now (unreachable, overloaded);
	// otherwise done, if not nil, is called once: delivered reports that
	// a node holding dst received the frame.
	Send(src, dst string, t MessageType, frame []byte, done func(delivered bool)) bool
}

// Inbox is how a Cluster reaches its Server. Its methods do not block.
type Inbox interface {
	// Deliver hands the Server a frame from src (on another node) for its
	// id dst.
	Deliver(src, dst string, t MessageType, frame []byte)
	// Lost reports that another node took id over (same token): the
	// Server closes its socket for id without telling its partners.
	Lost(id string)
	// Gone reports that id, which was on another node, is held by no
	// node any more (its node died or shut down, or released it): the
	// Server sends LEAVE from id to its partners here that were not told
	// yet (a LEAVE through Deliver and Gone reach a partner once).
	Gone(id string)
}

// inbox is the realm's Inbox.
type inbox struct{ r *realm }

func (in inbox) Deliver(src, dst string, t MessageType, frame []byte) {
	in.r.deliver(src, dst, t, frame)
}

func (in inbox) Lost(id string) { in.r.lost(id) }

func (in inbox) Gone(id string) { in.r.gone(id) }

package turn

import (
	"github.com/switchboard/switchboard/stun"
)

// Client-to-peer relaying, shared by every client transport.

// channelData relays a ChannelData message from the client of ft to the
// peer bound to its channel (RFC 8656 §12.5). Messages for unbound or
// expired channels are dropped silently.
func (s *Server) channelData(ft fiveTuple, b []byte) {
	num, data, err := stun.ParseChannelData(b)
	if err != nil {
		s.stats.dropped.Add(1)
		return
	}
	a := s.table.get(ft)
	if a == nil {
		s.stats.dropped.Add(1)
		return
	}
	now := s.now()
	a.mu.RLock()
	ch := a.chans[num]
	if a.closed || ch == nil || !now.Before(ch.expires) || !a.bw.allow(len(data), s.cfg.MaxBitrate, now) {
		a.mu.RUnlock()
		s.stats.dropped.Add(1)
		return
	}
	err = s.relays.sendTo(a.relay, data, &ch.dst)
	a.mu.RUnlock()
	s.countToPeer(len(data), err)
}

// handleSend relays the DATA of a Send indication to XOR-PEER-ADDRESS when
// a permission exists (RFC 8656 §11.2); otherwise it is dropped, as
// indications get no response. dst is the caller's scratch address.
func (s *Server) handleSend(r *request) {
	a := s.table.get(r.ft)
	if a == nil {
		s.stats.dropped.Add(1)
		return
	}
	peer, err := r.msg.GetXORAddress(stun.AttrXORPeerAddress)
	data, ok := r.msg.Get(stun.AttrData)
	if err != nil || !ok {
		s.stats.dropped.Add(1)
		return
	}
	a.mu.RLock()
	if a.closed || a.relay == nil || !a.permitted(peer.Addr(), r.now) || !a.bw.allow(len(data), s.cfg.MaxBitrate, r.now) {
		a.mu.RUnlock()
		s.stats.dropped.Add(1)
		return
	}
	r.dst.Set(peer, a.relay.v6)
	err = s.relays.sendTo(a.relay, data, r.dst)
	a.mu.RUnlock()
	s.countToPeer(len(data), err)
}

func (s *Server) countToPeer(n int, err error) {
	if err != nil {
		s.stats.dropped.Add(1)
		return
	}
	s.stats.pktsToPeers.Add(1)
	s.stats.bytesToPeers.Add(uint64(n))
}

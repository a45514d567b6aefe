package turn

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// allocate implements RFC 8656 §7.2 (and RFC 6156 §4 for the family), and
// with REQUESTED-TRANSPORT TCP, RFC 6062 §5.1.
func (s *Server) allocate(r *request, username string, key [16]byte) error {
	m := r.msg
	if a := s.table.get(r.ft); a != nil {
		// A retransmitted Allocate gets the same success again; any other
		// Allocate on a 5-tuple in use is 437 (§7.2 step 2).
		if a.tid != m.TransactionID || a.username != username {
			return errMismatch
		}
		s.allocateSuccess(r, a, a.lifetime)
		return nil
	}
	v, ok := m.Get(stun.AttrRequestedTransport)
	if !ok {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "missing REQUESTED-TRANSPORT"}
	}
	proto, err := stun.RequestedTransport(v)
	if err != nil {
		return errBadRequest
	}
	tcp := proto == stun.ProtoTCP
	if proto != stun.ProtoUDP && !tcp {
		return errTransport
	}
	evenPort, hasEven := m.Get(stun.AttrEvenPort)
	token, hasToken := m.Get(stun.AttrReservationToken)
	famV, hasFam := m.Get(stun.AttrRequestedAddressFamily)
	_, hasAddFam := m.Get(stun.AttrAdditionalAddressFamily)
	df := m.Has(stun.AttrDontFragment)
	if tcp && (r.ft.proto == transportUDP || hasEven || hasToken || df) {
		// RFC 6062 §5.1: TCP allocations only over TCP or TLS, and
		// without these UDP-only attributes.
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "TCP allocations need a TCP or TLS connection and no EVEN-PORT, RESERVATION-TOKEN or DONT-FRAGMENT"}
	}
	if hasToken && (hasEven || hasFam || hasAddFam) {
		return errBadRequest // §7.2 step 4 and 5
	}
	var reserved *relaySocket
	if hasToken {
		// §7.2 step 5: the token names a port reserved by an earlier
		// Allocate with EVEN-PORT R=1; unknown or expired → 508.
		if len(token) != 8 {
			return errBadRequest
		}
		if reserved = s.reservations.take([8]byte(token), r.now); reserved == nil {
			return &stun.Error{Code: stun.CodeInsufficientCapacity, Reason: "unknown RESERVATION-TOKEN"}
		}
	}
	even, reserve := false, false
	if hasEven {
		if len(evenPort) != 1 {
			return errBadRequest
		}
		even = true
		reserve = evenPort[0]&0x80 != 0
	}
	family := stun.FamilyIPv4
	if reserved != nil && reserved.v6 {
		family = stun.FamilyIPv6
	}
	if hasFam {
		if hasAddFam {
			return errBadRequest
		}
		f, err := stun.AddressFamily(famV)
		if err != nil {
			return errBadRequest
		}
		switch f {
		case stun.FamilyIPv4:
		case stun.FamilyIPv6:
			if !s.cfg.RelayIPv6.IsValid() {
				return errFamilyUnsupported
			}
		default:
			return errFamilyUnsupported
		}
		family = f
	}
	lifetime := s.cfg.DefaultLifetime
	if lt, err := m.GetUint32(stun.AttrLifetime); err == nil {
		lifetime = clampLifetime(time.Duration(lt)*time.Second, s.cfg.DefaultLifetime, s.cfg.MaxLifetime)
	}
	clientIP := r.ft.client.Addr()
	if !s.table.reserve(username, clientIP, &s.cfg) {
		if reserved != nil {
			s.relays.close(reserved)
		}
		s.stats.quotaRejections.Add(1)
		return errQuota
	}
	ip := s.cfg.RelayIP
	if family == stun.FamilyIPv6 {
		ip = s.cfg.RelayIPv6
	}
	rs, next := reserved, (*relaySocket)(nil)
	var tr *tcpRelay
	if tcp {
		var err error
		if tr, err = s.listenTCPRelay(ip); err != nil {
			s.table.unreserve(username, clientIP)
			s.log.Warn("turn: no TCP relay socket", slog.Any("err", err))
			return errCapacity
		}
	} else if rs == nil {
		var err error
		rs, next, err = s.relays.open(ip, even, reserve, df, r.home)
		if err != nil {
			s.table.unreserve(username, clientIP)
			s.log.Warn("turn: no relay socket", slog.Any("err", err))
			return errCapacity
		}
	} else if df {
		if err := s.relays.setDontFragment(rs); err != nil {
			s.table.unreserve(username, clientIP)
			s.relays.close(rs)
			return errCapacity
		}
	}
	a := &allocation{
		ft:       r.ft,
		username: username,
		key:      key,
		tid:      m.TransactionID,
		lifetime: lifetime,
		sink:     r.sink,
		relay:    rs,
		tcp:      tr,
		family:   family,
		expires:  r.now.Add(lifetime),
		perms:    make(map[netip.Addr]time.Time),
		chans:    make(map[uint16]*channel),
		byPeer:   make(map[netip.AddrPort]*channel),
	}
	if !s.table.insert(a) {
		s.table.unreserve(username, clientIP)
		if tr != nil {
			tr.cancel()
			tr.ln.Close()
			s.releaseTCPPort(tr.addr)
		} else {
			s.relays.close(rs)
		}
		if next != nil {
			s.relays.close(next)
		}
		return errMismatch
	}
	if tr != nil {
		if !s.goTrack(func() { s.acceptPeers(a) }) {
			s.release(a)
			return errCapacity
		}
	} else if err := s.relays.attach(rs, a.id); err != nil {
		s.release(a)
		return errCapacity
	}
	s.stats.allocations.Add(1)
	s.log.Debug("turn: allocated", slog.String("client", r.ft.client.String()), slog.String("proto", r.ft.proto.String()),
		slog.String("relay", a.relayAddr().String()), slog.String("user", username))
	s.allocateSuccess(r, a, lifetime)
	if next != nil {
		// §7.2: the next port is held for 30 s under this token.
		tok := s.reservations.put(next, r.now)
		r.resp.Add(stun.AttrReservationToken, tok[:])
	}
	if hasAddFam {
		// Dual allocations (RFC 8656 §7.2 ADDITIONAL-ADDRESS-FAMILY) are
		// not offered: say so for the additional family.
		r.resp.Add(stun.AttrAddressErrorCode, []byte{stun.FamilyIPv6, 0, 4, 40})
	}
	return nil
}

func (s *Server) allocateSuccess(r *request, a *allocation, lifetime time.Duration) {
	s.success(r)
	r.resp.AddXORAddress(stun.AttrXORRelayedAddress, a.relayAddr())
	r.resp.AddUint32(stun.AttrLifetime, uint32(lifetime/time.Second))
	r.resp.AddXORAddress(stun.AttrXORMappedAddress, r.ft.client)
}

func clampLifetime(req, def, max time.Duration) time.Duration {
	if req < def {
		return def
	}
	if req > max {
		return max
	}
	return req
}

package turn

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/switchboard/switchboard/stun"
)

// request is everything a STUN message is handled with: the decoded
// message, where it came from, how to reach the client and the time. The
// handler writes any response into resp and reports whether to send it, so
// request handling is a function of explicit inputs plus the server's
// allocation table, testable without sockets.
type request struct {
	msg  *stun.Message
	resp *stun.Message
	ft   fiveTuple
	sink sink
	now  time.Time
	dst  *relayDest // scratch for Send indications
	home *relayLoop // the relay loop handling it, if any (relay socket affinity)
}

// known lists the comprehension-required attributes this server
// understands; any other in 0x0000-0x7FFF gets 420 (RFC 8489 §7.3.1).
func known(t stun.AttrType) bool {
	switch t {
	case stun.AttrMappedAddress, stun.AttrUsername, stun.AttrMessageIntegrity, stun.AttrErrorCode,
		stun.AttrUnknownAttributes, stun.AttrRealm, stun.AttrNonce, stun.AttrMessageIntegritySHA256,
		stun.AttrPasswordAlgorithm, stun.AttrXORMappedAddress,
		stun.AttrChannelNumber, stun.AttrLifetime, stun.AttrXORPeerAddress, stun.AttrData,
		stun.AttrXORRelayedAddress, stun.AttrRequestedAddressFamily, stun.AttrEvenPort,
		stun.AttrRequestedTransport, stun.AttrDontFragment, stun.AttrReservationToken,
		stun.AttrConnectionID,
		0x0024, 0x0025: // PRIORITY, USE-CANDIDATE (RFC 8445) from ICE agents' Binding requests
		return true
	}
	return !t.Required()
}

// handle processes one STUN message and reports whether resp holds a
// response to send.
func (s *Server) handle(r *request) bool {
	m := r.msg
	// RFC 8489 §7.3: a message whose FINGERPRINT is wrong is discarded.
	hasFP := m.Has(stun.AttrFingerprint)
	if hasFP && m.CheckFingerprint() != nil {
		return false
	}
	switch m.Type.Class {
	case stun.ClassIndication:
		if m.Type.Method == stun.MethodSend {
			s.handleSend(r)
		}
		return false
	case stun.ClassRequest:
	default:
		return false // responses are for clients
	}
	var unknown [8]stun.AttrType
	u := unknown[:0]
	for _, a := range m.Attributes {
		if !known(a.Type) && len(u) < len(unknown) {
			u = append(u, a.Type)
		}
	}
	var key []byte
	var err error
	switch {
	case len(u) > 0:
		s.errorResponse(r, stun.CodeUnknownAttribute, nil)
		r.resp.AddUnknownAttributes(u)
	case m.Type.Method == stun.MethodBinding:
		s.binding(r)
	default:
		var k [16]byte
		var username string
		k, username, err = s.authenticate(r)
		if err != nil {
			break
		}
		key = k[:]
		switch m.Type.Method {
		case stun.MethodAllocate:
			err = s.allocate(r, username, k)
		case stun.MethodRefresh:
			err = s.refresh(r, username)
		case stun.MethodCreatePermission:
			err = s.createPermission(r, username)
		case stun.MethodChannelBind:
			err = s.channelBind(r, username)
		case stun.MethodConnect:
			err = s.connect(r, username)
		case stun.MethodConnectionBind:
			err = s.connectionBind(r, username)
		default:
			err = &stun.Error{Code: stun.CodeBadRequest}
		}
	}
	if err == errAsync {
		return false // the handler answers later
	}
	if err != nil {
		var ae *authError
		if errors.As(err, &ae) {
			s.errorResponse(r, ae.code, nil)
			r.resp.AddString(stun.AttrRealm, s.cfg.Realm)
			r.resp.AddString(stun.AttrNonce, s.nonces.issue(r.ft.client.Addr(), r.now))
			key = nil
		} else {
			code := stun.CodeOf(err)
			if code == 0 {
				code = stun.CodeServerError
				s.log.Warn("turn: request failed", slog.String("method", m.Type.Method.String()), slog.Any("err", err))
			}
			s.errorResponse(r, code, err)
		}
	}
	if key != nil {
		r.resp.AddIntegrity(key)
	}
	if hasFP {
		r.resp.AddFingerprint()
	}
	return true
}

// authError is a 400/401/438 from the long-term credential mechanism; its
// response carries REALM and a fresh NONCE (RFC 8489 §9.2.4).
type authError struct{ code int }

func (e *authError) Error() string { return stun.ReasonPhrase(e.code) }

func (s *Server) errorResponse(r *request, code int, err error) {
	r.resp.Reset(stun.Type{Method: r.msg.Type.Method, Class: stun.ClassErrorResponse}, r.msg.TransactionID)
	reason := ""
	var se *stun.Error
	if errors.As(err, &se) {
		reason = se.Reason
	}
	r.resp.AddErrorCode(code, reason)
	if s.cfg.Software != "" {
		r.resp.AddString(stun.AttrSoftware, s.cfg.Software)
	}
}

func (s *Server) success(r *request) {
	r.resp.Reset(stun.Type{Method: r.msg.Type.Method, Class: stun.ClassSuccess}, r.msg.TransactionID)
	if s.cfg.Software != "" {
		r.resp.AddString(stun.AttrSoftware, s.cfg.Software)
	}
}

// binding answers a Binding request with the client's reflexive address
// (RFC 8489 §7.3.1, §14.2).
func (s *Server) binding(r *request) {
	s.success(r)
	r.resp.AddXORAddress(stun.AttrXORMappedAddress, r.ft.client)
	s.stats.bindings.Add(1)
}

// authenticate applies the long-term credential mechanism
// (RFC 8489 §9.2.4) and returns the key and username.
func (s *Server) authenticate(r *request) ([16]byte, string, error) {
	m := r.msg
	hasMI := m.Has(stun.AttrMessageIntegrity)
	hasMI256 := m.Has(stun.AttrMessageIntegritySHA256)
	if !hasMI && !hasMI256 {
		return [16]byte{}, "", &authError{stun.CodeUnauthorized}
	}
	user, okU := m.Get(stun.AttrUsername)
	_, okR := m.Get(stun.AttrRealm)
	nonce, okN := m.Get(stun.AttrNonce)
	if !okU || !okR || !okN {
		return [16]byte{}, "", &stun.Error{Code: stun.CodeBadRequest, Reason: "missing USERNAME, REALM or NONCE"}
	}
	if !s.nonces.valid(nonce, r.ft.client.Addr(), r.now) {
		s.stats.authFailures.Add(1)
		return [16]byte{}, "", &authError{stun.CodeStaleNonce}
	}
	username := string(user)
	key, ok := s.creds.key(username, r.now)
	if !ok {
		s.stats.authFailures.Add(1)
		return [16]byte{}, "", &authError{stun.CodeUnauthorized}
	}
	var err error
	if hasMI256 {
		// PASSWORD-ALGORITHM is only negotiated with the security feature
		// of RFC 8489 §9.2.1, which this server does not offer; the key is
		// therefore the MD5 one.
		err = m.CheckIntegritySHA256(key[:])
	} else {
		err = m.CheckIntegrity(key[:])
	}
	if err != nil {
		s.stats.authFailures.Add(1)
		return [16]byte{}, "", &authError{stun.CodeUnauthorized}
	}
	return key, username, nil
}

var (
	errBadRequest        = &stun.Error{Code: stun.CodeBadRequest}
	errMismatch          = &stun.Error{Code: stun.CodeAllocationMismatch}
	errWrongCredentials  = &stun.Error{Code: stun.CodeWrongCredentials}
	errForbidden         = &stun.Error{Code: stun.CodeForbidden, Reason: "Forbidden: peer address denied"}
	errPeerFamily        = &stun.Error{Code: stun.CodePeerAddressFamilyMismatch}
	errQuota             = &stun.Error{Code: stun.CodeAllocationQuotaReached}
	errCapacity          = &stun.Error{Code: stun.CodeInsufficientCapacity}
	errFamilyUnsupported = &stun.Error{Code: stun.CodeAddressFamilyNotSupported}
	errTransport         = &stun.Error{Code: stun.CodeUnsupportedTransportProtocol}
)

// ownAllocation returns the allocation of r's 5-tuple after checking that
// the same user made it (RFC 8656 §5: 441 otherwise).
func (s *Server) ownAllocation(r *request, username string) (*allocation, error) {
	a := s.table.get(r.ft)
	if a == nil {
		return nil, errMismatch
	}
	if a.username != username {
		return nil, errWrongCredentials
	}
	return a, nil
}

// refresh implements RFC 8656 §8: LIFETIME 0 deletes the allocation.
func (s *Server) refresh(r *request, username string) error {
	a, err := s.ownAllocation(r, username)
	if err != nil {
		return err
	}
	if v, ok := r.msg.Get(stun.AttrRequestedAddressFamily); ok {
		if f, err := stun.AddressFamily(v); err != nil || f != a.family {
			return errPeerFamily
		}
	}
	lifetime := s.cfg.DefaultLifetime
	if lt, err := r.msg.GetUint32(stun.AttrLifetime); err == nil {
		lifetime = time.Duration(lt) * time.Second
		if lifetime > s.cfg.MaxLifetime {
			lifetime = s.cfg.MaxLifetime
		}
	}
	if lifetime == 0 {
		s.release(a)
	} else {
		a.mu.Lock()
		a.expires = r.now.Add(lifetime)
		a.mu.Unlock()
	}
	s.success(r)
	r.resp.AddUint32(stun.AttrLifetime, uint32(lifetime/time.Second))
	return nil
}

// peerAddress decodes one XOR-PEER-ADDRESS value and applies the
// family and deny-list checks (RFC 8656 §9.1, §10.2, §12.2).
func (s *Server) peerAddress(r *request, a *allocation, v []byte) (netip.AddrPort, error) {
	peer, err := stun.XORAddress(v, &r.msg.TransactionID)
	if err != nil {
		return netip.AddrPort{}, errBadRequest
	}
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	if peer.Addr().Is4() != (a.family == stun.FamilyIPv4) {
		return netip.AddrPort{}, errPeerFamily
	}
	if !s.peers.allowed(peer.Addr()) {
		s.stats.deniedPeers.Add(1)
		return netip.AddrPort{}, errForbidden
	}
	return peer, nil
}

// createPermission implements RFC 8656 §10.2: every XOR-PEER-ADDRESS must
// pass before any permission is installed.
func (s *Server) createPermission(r *request, username string) error {
	a, err := s.ownAllocation(r, username)
	if err != nil {
		return err
	}
	var ips [8]netip.Addr
	list := ips[:0]
	for _, at := range r.msg.Attributes {
		if at.Type != stun.AttrXORPeerAddress {
			continue
		}
		peer, err := s.peerAddress(r, a, at.Value)
		if err != nil {
			return err
		}
		list = append(list, peer.Addr())
	}
	if len(list) == 0 {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "missing XOR-PEER-ADDRESS"}
	}
	exp := r.now.Add(s.cfg.PermissionLifetime)
	a.mu.Lock()
	for _, ip := range list {
		a.perms[ip] = exp
	}
	a.mu.Unlock()
	s.success(r)
	return nil
}

// channelBind implements RFC 8656 §12.2.
func (s *Server) channelBind(r *request, username string) error {
	a, err := s.ownAllocation(r, username)
	if err != nil {
		return err
	}
	if a.tcp != nil {
		// Channels carry UDP datagrams; a TCP allocation relays over
		// its data connections only (RFC 6062 §5).
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "TCP allocation"}
	}
	v, ok := r.msg.Get(stun.AttrChannelNumber)
	if !ok {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "missing CHANNEL-NUMBER"}
	}
	num, err := stun.ChannelNumber(v)
	// RFC 8656 §12 allows 0x4000-0x4FFF; RFC 5766 clients (coturn's
	// turnutils among them) still pick up to 0x7FFF, so those are accepted.
	if err != nil || num < stun.MinChannel || num > stun.MaxChannelRFC5766 {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "bad channel number"}
	}
	pv, ok := r.msg.Get(stun.AttrXORPeerAddress)
	if !ok {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "missing XOR-PEER-ADDRESS"}
	}
	peer, err := s.peerAddress(r, a, pv)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch, ok := a.chans[num]; ok && ch.peer != peer {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "channel bound to another peer"}
	}
	if ch, ok := a.byPeer[peer]; ok && ch.num != num {
		return &stun.Error{Code: stun.CodeBadRequest, Reason: "peer bound to another channel"}
	}
	ch := a.chans[num]
	if ch == nil {
		ch = &channel{num: num, peer: peer}
		ch.dst.Set(peer, a.relay.v6)
		a.chans[num] = ch
		a.byPeer[peer] = ch
	}
	ch.expires = r.now.Add(s.cfg.ChannelLifetime)
	// Binding a channel installs or refreshes the permission (§12.2).
	if exp := r.now.Add(s.cfg.PermissionLifetime); a.perms[peer.Addr()].Before(exp) {
		a.perms[peer.Addr()] = exp
	}
	s.success(r)
	return nil
}

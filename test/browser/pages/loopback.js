// Keeps WebRTC on 127.0.0.0/8: Chromium also gathers candidates on every
// other interface, and the tests must not depend on (or leak onto) them.
// Wraps RTCPeerConnection so that neither locally gathered nor remotely
// received candidates outside 127/8 are used; end-of-candidates passes.
(() => {
  const Native = window.RTCPeerConnection;
  const loopback = (c) => {
    const s = c && (typeof c === 'string' ? c : c.candidate);
    if (!s) return true; // end of candidates
    const addr = s.split(' ')[4] || '';
    return addr.startsWith('127.');
  };
  window.isLoopbackCandidate = loopback;
  class LoopbackPeerConnection extends Native {
    constructor(config) {
      // Test pages never reach out: no STUN/TURN (the servers in iceServers
      // are not listening in these tests and would only slow gathering).
      super({ ...(config || {}), iceServers: [] });
      // Registered first, so it runs before any listener or onicecandidate
      // handler the page adds, and hides non-loopback candidates from them.
      this.addEventListener('icecandidate', (e) => {
        if (e.candidate && !loopback(e.candidate)) e.stopImmediatePropagation();
      });
    }
    addIceCandidate(c, ...rest) {
      if (c && !loopback(c)) return Promise.resolve();
      return super.addIceCandidate(c, ...rest);
    }
  }
  window.RTCPeerConnection = LoopbackPeerConnection;
})();

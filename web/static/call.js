// call.js — a video call of up to MAX_PEOPLE in a full mesh, signaled
// through Switchboard's /signal WebSocket (protocol in CONTRACT.md). The
// newer peer offers to everyone already in the room; ICE candidates trickle;
// the RTCPeerConnections use the iceServers the server hands out.

export const MAX_PEOPLE = 4;

// What the server's error codes mean to a person.
const ERROR_TEXT = {
  room_full: 'This room is full.',
  rate_limited: 'Too many messages at once; slowing down.',
  unauthorized: 'You are not allowed into this room.',
  too_large: 'A message was too large to send.',
};

export class Call {
  // handlers: onJoined(id, peers), onPeer(id, name), onStream(id, stream),
  // onPeerState(id, state), onPeerLeft(id, name), onError(text, fatal),
  // onClosed(unexpected)
  constructor({ room, name, stream, handlers }) {
    this.room = room;
    this.name = name;
    this.stream = stream; // may be null: receive only
    this.h = handlers;
    this.peers = new Map(); // id → { name, pc, pendingCandidates }
    this.iceServers = [];
    this.id = null;
    this.closing = false;
    this.chain = Promise.resolve();
  }

  start() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.ws = new WebSocket(`${proto}//${location.host}/signal`);
    this.ws.onopen = () => this.send({ type: 'join', room: this.room, name: this.name });
    this.ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      // One message at a time, in order: an answer must not overtake its offer.
      this.chain = this.chain.then(() => this.handle(m)).catch((err) => console.error('call:', err));
    };
    this.ws.onclose = () => {
      const unexpected = !this.closing;
      this.closeAll();
      this.h.onClosed(unexpected);
    };
  }

  send(m) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  async handle(m) {
    switch (m.type) {
      case 'joined': {
        if (m.peers.length >= MAX_PEOPLE) {
          this.h.onError(`This call already has ${MAX_PEOPLE} people, the most a call can hold. You can still chat.`, true);
          this.leave();
          return;
        }
        this.id = m.id;
        this.iceServers = m.iceServers || [];
        this.h.onJoined(m.id, m.peers);
        for (const p of m.peers) {
          const peer = this.addPeer(p.id, p.name);
          await peer.pc.setLocalDescription(await peer.pc.createOffer());
          this.send({ type: 'offer', to: p.id, sdp: peer.pc.localDescription.sdp });
        }
        break;
      }
      case 'peer-joined':
        this.addPeer(m.id, m.name);
        break;
      case 'offer': {
        const peer = this.peers.get(m.from) || this.addPeer(m.from, '');
        await peer.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        this.send({ type: 'answer', to: m.from, sdp: peer.pc.localDescription.sdp });
        break;
      }
      case 'answer': {
        const peer = this.peers.get(m.from);
        if (peer) await peer.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        break;
      }
      case 'candidate': {
        const peer = this.peers.get(m.from);
        if (peer) await peer.pc.addIceCandidate(m.candidate).catch(() => {});
        break;
      }
      case 'peer-left':
        this.removePeer(m.id);
        break;
      case 'error': {
        const fatal = m.code === 'room_full' || m.code === 'unauthorized';
        this.h.onError(ERROR_TEXT[m.code] || `Signaling error: ${m.message}`, fatal);
        if (fatal) this.leave();
        break;
      }
    }
  }

  addPeer(id, name) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const peer = { name, pc };
    this.peers.set(id, peer);
    if (this.stream) {
      for (const t of this.stream.getTracks()) pc.addTrack(t, this.stream);
    } else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) this.send({ type: 'candidate', to: id, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => this.h.onStream(id, e.streams[0] || new MediaStream([e.track]));
    pc.onconnectionstatechange = () => this.h.onPeerState(id, pc.connectionState);
    this.h.onPeer(id, name);
    return peer;
  }

  removePeer(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    peer.pc.close();
    this.peers.delete(id);
    this.h.onPeerLeft(id, peer.name);
  }

  closeAll() {
    for (const id of [...this.peers.keys()]) this.removePeer(id);
  }

  leave() {
    this.closing = true;
    this.send({ type: 'leave' });
    this.closeAll();
    if (this.ws) this.ws.close(1000, 'left');
  }
}

// A minimal browser client of Switchboard's /signal protocol, for the
// browser tests: it joins a room and connects to every other peer with an
// RTCDataChannel and the (fake) camera. The newer peer offers. Messages are
// handled one at a time, in order.
export async function start({ url, room, name }) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  const st = { id: null, room, peers: new Map(), events: [], errors: [], iceServers: null, stream, ws: null };
  const ws = new WebSocket(url);
  st.ws = ws;
  const send = (o) => ws.send(JSON.stringify(o));

  function makePeer(id, peerName, offerer) {
    const pc = new RTCPeerConnection({ iceServers: st.iceServers || [] });
    const p = { id, name: peerName, pc, dc: null, role: offerer ? 'offerer' : 'answerer', received: [], video: null };
    st.peers.set(id, p);
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) send({ type: 'candidate', to: id, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => {
      if (p.video) return;
      p.video = document.createElement('video');
      p.video.muted = true;
      p.video.autoplay = true;
      p.video.playsInline = true;
      p.video.srcObject = e.streams[0] || new MediaStream([e.track]);
      document.body.appendChild(p.video);
      p.video.play().catch(() => {});
    };
    const wire = (dc) => { p.dc = dc; dc.onmessage = (e) => p.received.push(e.data); };
    if (offerer) wire(pc.createDataChannel('chat'));
    else pc.ondatachannel = (e) => wire(e.channel);
    return p;
  }

  async function handle(m) {
    st.events.push(m.type + (m.id ? ':' + m.id : '') + (m.from ? ':' + m.from : ''));
    switch (m.type) {
      case 'joined':
        st.id = m.id;
        st.iceServers = m.iceServers;
        for (const o of m.peers) {
          const p = makePeer(o.id, o.name, true);
          await p.pc.setLocalDescription(await p.pc.createOffer());
          send({ type: 'offer', to: o.id, sdp: p.pc.localDescription.sdp });
        }
        break;
      case 'peer-joined':
        makePeer(m.id, m.name, false);
        break;
      case 'offer': {
        const p = st.peers.get(m.from) || makePeer(m.from, '', false);
        await p.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await p.pc.setLocalDescription(await p.pc.createAnswer());
        send({ type: 'answer', to: m.from, sdp: p.pc.localDescription.sdp });
        break;
      }
      case 'answer': {
        const p = st.peers.get(m.from);
        if (p) await p.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        break;
      }
      case 'candidate': {
        const p = st.peers.get(m.from);
        if (p) await p.pc.addIceCandidate(m.candidate);
        break;
      }
      case 'peer-left': {
        const p = st.peers.get(m.id);
        if (p) {
          p.pc.close();
          if (p.video) p.video.remove();
          st.peers.delete(m.id);
        }
        break;
      }
      case 'error':
        st.errors.push(m.code + ': ' + m.message);
        break;
    }
  }

  let chain = Promise.resolve();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    chain = chain.then(() => handle(m)).catch((err) => st.errors.push('client: ' + err));
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('WebSocket to ' + url + ' failed'));
  });
  send({ type: 'join', room, name });
  return st;
}

// sendAll sends text on every open data channel.
export function sendAll(st, text) {
  for (const p of st.peers.values()) if (p.dc && p.dc.readyState === 'open') p.dc.send(text);
}

export function leave(st) {
  st.ws.send(JSON.stringify({ type: 'leave' }));
  for (const p of st.peers.values()) {
    p.pc.close();
    if (p.video) p.video.remove();
  }
  st.peers.clear();
}

export function rejoin(st) {
  st.ws.send(JSON.stringify({ type: 'join', room: st.room, name: 'again' }));
}

// status is a JSON-friendly summary, with framesDecoded from getStats.
export async function status(st) {
  const peers = [];
  for (const p of st.peers.values()) {
    let framesDecoded = 0;
    let pair = '';
    const stats = await p.pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') framesDecoded += r.framesDecoded || 0;
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
        const l = stats.get(r.localCandidateId);
        const rm = stats.get(r.remoteCandidateId);
        const addr = (c) => (c && (c.address || c.ip)) || `(${c ? c.candidateType : '?'})`;
        pair = `${addr(l)} <-> ${addr(rm)}`;
      }
    });
    peers.push({
      id: p.id, role: p.role, state: p.pc.connectionState,
      dcOpen: !!p.dc && p.dc.readyState === 'open', received: p.received.slice(), framesDecoded, pair,
    });
  }
  return { id: st.id, events: st.events.slice(), errors: st.errors.slice(), iceServers: st.iceServers, peers };
}

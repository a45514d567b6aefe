// turn.mjs TURN_URL USERNAME CREDENTIAL — Chromium relays a data channel
// through Switchboard's TURN server. One page holds two RTCPeerConnections,
// both with iceTransportPolicy 'relay' and TURN_URL as their only ICE
// server; they exchange descriptions and candidates in the page, open a
// data channel, send messages both ways, and read getStats(): the selected
// candidate pair of each must have a relay candidate at both ends.
// Prints "ok <step>" lines and "PASS turn", or "FAIL ...".
import { launch, run } from './browser.mjs';

const [turnURL, username, credential] = process.argv.slice(2);

// inPage runs in the browser; it returns a summary or throws.
async function inPage({ turnURL, username, credential }) {
  const cfg = { iceServers: [{ urls: [turnURL], username, credential }], iceTransportPolicy: 'relay' };
  const a = new RTCPeerConnection(cfg);
  const b = new RTCPeerConnection(cfg);
  const gathered = { a: [], b: [] };
  const errors = [];
  const wire = (from, to, label) => {
    from.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return;
      gathered[label].push(e.candidate.candidate);
      to.addIceCandidate(e.candidate).catch((err) => errors.push(`${label} addIceCandidate: ${err}`));
    };
    from.onicecandidateerror = (e) => errors.push(`${label} icecandidateerror ${e.errorCode} ${e.errorText} ${e.url}`);
  };
  wire(a, b, 'a');
  wire(b, a, 'b');
  const received = { a: [], b: [] };
  const dcA = a.createDataChannel('relay');
  dcA.onmessage = (e) => received.a.push(e.data);
  const dcB = new Promise((resolve) => {
    b.ondatachannel = (e) => {
      e.channel.onmessage = (m) => received.b.push(m.data);
      resolve(e.channel);
    };
  });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);

  const until = async (what, cond, ms) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}: ice ${a.iceConnectionState}/${b.iceConnectionState}, ` +
          `candidates ${JSON.stringify(gathered)}, errors ${JSON.stringify(errors)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until('the data channel to open', () => dcA.readyState === 'open', 45_000);
  const chB = await dcB;
  await until('the remote data channel to open', () => chB.readyState === 'open', 15_000);
  const n = 20;
  for (let i = 0; i < n; i++) {
    dcA.send(`a->b ${i}`);
    chB.send(`b->a ${i}`);
  }
  await until('all messages', () => received.a.length === n && received.b.length === n, 15_000);
  for (let i = 0; i < n; i++) {
    if (received.b[i] !== `a->b ${i}` || received.a[i] !== `b->a ${i}`) {
      throw new Error(`message ${i}: ${received.b[i]} / ${received.a[i]}`);
    }
  }

  // The selected pair: the transport's selectedCandidatePairId (the
  // standard way), else the nominated succeeded pair.
  const selected = async (pc) => {
    const stats = await pc.getStats();
    let pair;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) {
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
      });
    }
    if (!pair) throw new Error('no selected candidate pair');
    const l = stats.get(pair.localCandidateId);
    const r = stats.get(pair.remoteCandidateId);
    const desc = (c) => c && { type: c.candidateType, address: c.address || c.ip, port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol, url: c.url };
    return { local: desc(l), remote: desc(r), bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived };
  };
  const out = { a: await selected(a), b: await selected(b), gathered, errors };
  dcA.close();
  a.close();
  b.close();
  return out;
}

run('turn', 120_000, async () => {
  const ctx = await launch();
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[page] pageerror: ${e.message}`));
  const res = await page.evaluate(inPage, { turnURL, username, credential });
  console.log('ok datachannel-both-ways 20 messages each way');
  console.log(`stats ${JSON.stringify({ a: res.a, b: res.b })}`);
  for (const [name, s] of [['a', res.a], ['b', res.b]]) {
    if (!s.local || s.local.type !== 'relay' || !s.remote || s.remote.type !== 'relay') {
      throw new Error(`peer ${name}: selected pair is not relay-relay: ${JSON.stringify(s)}`);
    }
  }
  console.log(`ok selected-pair-relay a=${res.a.local.address}:${res.a.local.port}<->${res.a.remote.address}:${res.a.remote.port} ` +
    `b=${res.b.local.address}:${res.b.local.port}<->${res.b.remote.address}:${res.b.remote.port} relayProtocol=${res.a.local.relayProtocol}`);
});

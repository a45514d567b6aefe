// peerjs.mjs BASE_URL [BASE_URL_B] — the unchanged npm peerjs client bundle (1.5.x) in
// two Chromium pages against Switchboard's /peerjs endpoint, over
// 127.0.0.0/8 only (pages/loopback.js):
//   open, a data connection with messages both ways, a media call with the
//   fake camera decoded on both sides, unavailable-id for a taken id,
//   peer-unavailable for an id nobody holds (EXPIRE), and the call closing
//   when the other page goes away (Switchboard sends LEAVE; the stock
//   server does not).
// With a second BASE_URL (another node of a cluster), pages B and C use it:
// the call, the data, the taken id and the LEAVE all cross nodes.
// Prints "ok <case>" lines and "PASS peerjs", or "FAIL ...".
import { launch, newPage, run, waitFor } from './browser.mjs';

const base = process.argv[2];
const baseB = process.argv[3] || base;
const port = Number(new URL(base).port);
const portB = Number(new URL(baseB).port);
const suffix = Math.random().toString(36).slice(2, 8);
const idA = `alice-${suffix}`;
const idB = `bob-${suffix}`;

// Runs in a page: creates a Peer with an id and records what happens.
async function setup({ id, port }) {
  const st = { errors: [], data: [], opened: false, calls: 0, streams: 0, closed: { data: false, call: false } };
  window.st = st;
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  st.stream = stream;
  const peer = new Peer(id, { host: '127.0.0.1', port, path: '/peerjs', key: 'peerjs', debug: 1, config: { iceServers: [] } });
  window.peer = peer;
  peer.on('error', (e) => st.errors.push(e.type));
  const wireData = (conn) => {
    st.conn = conn;
    conn.on('data', (d) => st.data.push(d));
    conn.on('open', () => conn.send(`hello from ${id}`));
    conn.on('close', () => { st.closed.data = true; });
  };
  const wireCall = (call) => {
    st.call = call;
    call.on('stream', (remote) => {
      st.streams++;
      const v = document.createElement('video');
      v.muted = true; v.autoplay = true; v.playsInline = true; v.srcObject = remote;
      document.body.appendChild(v);
      v.play().catch(() => {});
    });
    call.on('close', () => { st.closed.call = true; });
  };
  peer.on('connection', wireData);
  peer.on('call', (call) => { st.calls++; wireCall(call); call.answer(stream); });
  window.connectTo = (other) => wireData(peer.connect(other, { reliable: true }));
  window.callTo = (other) => wireCall(peer.call(other, stream));
  await new Promise((resolve, reject) => {
    peer.on('open', () => { st.opened = true; resolve(); });
    peer.on('error', (e) => reject(new Error('peer error ' + e.type)));
  });
}

async function state(page) {
  return page.evaluate(async () => {
    const st = window.st;
    let framesDecoded = 0;
    if (st.call && st.call.peerConnection) {
      (await st.call.peerConnection.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') framesDecoded += r.framesDecoded || 0;
      });
    }
    return { callOpen: st.call && st.call.open, opened: st.opened, errors: st.errors, data: st.data, streams: st.streams, framesDecoded, closed: st.closed, open: window.peer.open };
  });
}

run('peerjs', 150_000, async () => {
  await launch();
  const a = await newPage(`${base}/pages/peerjs.html`, 'A');
  const b = await newPage(`${baseB}/pages/peerjs.html`, 'B');
  await a.evaluate(setup, { id: idA, port });
  await b.evaluate(setup, { id: idB, port: portB });
  console.log('ok open');

  // Media: A calls B, B answers with its own camera.
  await a.evaluate((other) => window.callTo(other), idB);
  for (const [label, page] of [['A', a], ['B', b]]) {
    const s = await waitFor(`video decoded on ${label}`, async () => {
      const s = await state(page);
      return s.streams > 0 && s.framesDecoded > 0 ? s : { ok: false, state: s };
    }, 60_000);
    console.log(`ok media-${label} framesDecoded=${s.framesDecoded}`);
  }
  console.log('ok media-both-ways');

  // Data: B connects to A; each side greets the other on open.
  await b.evaluate((other) => window.connectTo(other), idA);
  await waitFor('data on A', async () => (await state(a)).data.includes(`hello from ${idB}`));
  await waitFor('data on B', async () => (await state(b)).data.includes(`hello from ${idA}`));
  console.log('ok data-both-ways');

  // A taken id is refused with unavailable-id.
  const c = await newPage(`${baseB}/pages/peerjs.html`, 'C');
  const err = await c.evaluate(setup, { id: idA, port: portB }).then(() => 'opened', (e) => e.message);
  if (!String(err).includes('unavailable-id')) throw new Error(`taken id: ${err}`);
  console.log('ok unavailable-id');
  await c.close();

  // An id nobody holds: the server answers EXPIRE, the client peer-unavailable.
  await a.evaluate(() => window.connectTo('nobody-here'));
  await waitFor('peer-unavailable on A', async () => (await state(a)).errors.includes('peer-unavailable'));
  console.log('ok peer-unavailable');

  // B goes away: Switchboard tells A with LEAVE, so A's call closes. The call is A's first connection to B
  // on purpose: peerjs 1.5.5's Peer._cleanupPeer closes connections while
  // iterating the array that close() splices, so on LEAVE it closes only
  // every other connection to the departed peer (here the data connection,
  // which then waits for ICE to time out).
  await b.close();
  await waitFor('call closed on A', async () => {
    const s = await state(a);
    return s.closed.call ? s : { ok: false, state: s };
  });
  if (!(await state(a)).open) throw new Error('A lost its server connection');
  console.log('ok call-closed-on-leave');
});

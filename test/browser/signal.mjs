// signal.mjs BASE_URL pair|mesh [BASE_URL_B] — WebRTC through Switchboard's /signal in
// Chromium. Pages come from BASE_URL/pages/signal.html; each joins a room,
// and the client in the page connects to every peer (the newer one offers)
// with an RTCDataChannel and the fake camera, over 127.0.0.0/8 only.
//   pair: two pages; data both ways, video decoded both sides, the newer
//         page is the offerer; leave → peer-left; rejoin; closing a page →
//         peer-left.
//   mesh: four pages; all 12 directed links carry data and video.
// With a second BASE_URL (another node of a cluster), pages alternate
// between the two: in pair, A is on the first and B on the second.
// Prints "ok <case>" lines and "PASS signal-<scenario>", or "FAIL ...".
import { launch, newPage, run, waitFor } from './browser.mjs';

const [base, scenario, baseB] = process.argv.slice(2);
const bases = baseB ? [base, baseB] : [base];
let joined = 0;

async function join(label, room) {
  const b = bases[joined++ % bases.length];
  const page = await newPage(`${b}/pages/signal.html`, label);
  await page.waitForFunction(() => window.clientReady === true);
  await page.evaluate(async (a) => { window.st = await window.signalClient.start(a); }, { url: b.replace(/^http/, 'ws') + '/signal', room, name: label });
  return page;
}

const status = (page) => page.evaluate(() => window.signalClient.status(window.st));

// connected waits until page has exactly n peers, each with an open data
// channel and decoded video, and returns its status.
function connected(page, label, n) {
  return waitFor(`${label} connected to ${n} peers`, async () => {
    const s = await status(page);
    const ok = s.peers.length === n && s.peers.every((p) => p.dcOpen && p.framesDecoded > 0);
    return ok ? s : { ok: false, state: s };
  }, 60_000);
}

async function pair() {
  await launch();
  const a = await join('A', 'pair');
  const sa = await waitFor('A joined', async () => (await status(a)).id);
  const b = await join('B', 'pair');
  const [stA, stB] = [await connected(a, 'A', 1), await connected(b, 'B', 1)];
  if (stB.peers[0].id !== stA.id || stA.peers[0].id !== stB.id) throw new Error('peers do not see each other');
  if (stB.peers[0].role !== 'offerer' || stA.peers[0].role !== 'answerer') throw new Error(`roles: A ${stA.peers[0].role}, B ${stB.peers[0].role}`);
  console.log('ok newer-peer-offers');
  if (!stA.iceServers.length || !stA.iceServers[0].urls[0].startsWith('stun:')) throw new Error('joined without STUN iceServers: ' + JSON.stringify(stA.iceServers));
  console.log('ok ice-servers ' + JSON.stringify(stA.iceServers));
  // Only loopback candidates are signaled (pages/loopback.js), so one end
  // of the selected pair is in 127/8. The other may be one of the host's
  // own addresses: Chromium pairs its every local candidate with the
  // signaled ones and learns the far side's as peer-reflexive (its stats
  // then hide the address); a page cannot stop it gathering. The traffic
  // stays on this host either way.
  for (const s of [stA, stB]) {
    if (!/(^|<-> )127\./.test(s.peers[0].pair)) throw new Error('selected pair has no loopback end: ' + s.peers[0].pair);
  }
  console.log(`ok loopback-pair ${stA.peers[0].pair}`);
  console.log(`ok video-decoded A=${stA.peers[0].framesDecoded} B=${stB.peers[0].framesDecoded}`);

  await a.evaluate(() => window.signalClient.sendAll(window.st, 'hello from A'));
  await b.evaluate(() => window.signalClient.sendAll(window.st, 'hello from B'));
  await waitFor('B receives A', async () => (await status(b)).peers[0].received.includes('hello from A'));
  await waitFor('A receives B', async () => (await status(a)).peers[0].received.includes('hello from B'));
  console.log('ok datachannel-both-ways');

  await b.evaluate(() => window.signalClient.leave(window.st));
  await waitFor('peer-left after leave', async () => (await status(a)).events.includes('peer-left:' + stB.id));
  console.log('ok leave-peer-left');

  await b.evaluate(() => window.signalClient.rejoin(window.st));
  const again = await connected(b, 'B', 1);
  await connected(a, 'A', 1);
  if (again.id === stB.id) throw new Error('rejoin kept the old id');
  console.log('ok rejoin');

  await b.close();
  await waitFor('peer-left after closing the page', async () => (await status(a)).events.includes('peer-left:' + again.id));
  const end = await status(a);
  if (end.peers.length !== 0 || end.errors.length) throw new Error('A after B closed: ' + JSON.stringify(end));
  console.log('ok close-peer-left');
  void sa;
}

async function mesh() {
  await launch();
  const pages = [];
  for (const label of ['M1', 'M2', 'M3', 'M4']) {
    pages.push(await join(label, 'mesh'));
    await waitFor(`${label} joined`, async () => (await status(pages.at(-1))).id);
  }
  const sts = [];
  for (const [i, p] of pages.entries()) sts.push(await connected(p, `M${i + 1}`, 3));
  let links = 0;
  for (const s of sts) links += s.peers.length;
  for (const [i, p] of pages.entries()) await p.evaluate((t) => window.signalClient.sendAll(window.st, t), `from M${i + 1}`);
  for (const [i, p] of pages.entries()) {
    await waitFor(`M${i + 1} receives from all`, async () => {
      const s = await status(p);
      return s.peers.every((q) => q.received.length > 0) && s.peers.map((q) => q.received[0]).sort().join(',') ===
        ['M1', 'M2', 'M3', 'M4'].filter((_, j) => j !== i).map((l) => 'from ' + l).join(',');
    });
  }
  console.log(`ok mesh-links ${links} (data and video on each)`);
  if (links !== 12) throw new Error(`${links} links, want 12`);
}

run(`signal-${scenario}`, 150_000, scenario === 'mesh' ? mesh : pair);

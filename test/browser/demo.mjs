// demo.mjs BASE_URL SCREENSHOT_DIR — the demo page at BASE_URL/ in two
// Chromium pages: both join one room through the lobby form, chat both
// ways over Socket.IO, see each other's (fake camera) video in the remote
// tile, toggle mute and camera, and one leaves. Screenshots of both pages
// are written to SCREENSHOT_DIR. WebRTC is kept on 127.0.0.0/8 by
// pages/loopback.js, injected before the page's own scripts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newPage, run, waitFor } from './browser.mjs';

const [base, shots] = process.argv.slice(2);
const room = `demo-${Math.random().toString(36).slice(2, 8)}`;
const loopback = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages', 'loopback.js'), 'utf8');

async function enter(context, label, name, lobbyShot) {
  const page = await newPage(`${base}/`, label);
  await page.setViewportSize({ width: 1280, height: 720 });
  if (lobbyShot) {
    fs.mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'demo-lobby.png') });
  }
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#joinBtn');
  await page.waitForSelector('#roomView:not([hidden])', { timeout: 15_000 });
  return page;
}

// remoteVideo reports the first remote tile's name and whether its video
// is playing (decoded frames have a size and time advances).
const remoteVideo = (page) => page.evaluate(async () => {
  const tile = document.querySelector('.tile:not(.self)');
  if (!tile) return { ok: false, state: 'no remote tile' };
  const v = tile.querySelector('video');
  const t0 = v.currentTime;
  await new Promise((r) => setTimeout(r, 300));
  const playing = v.videoWidth > 0 && v.currentTime > t0;
  return { ok: playing, name: tile.querySelector('.name').textContent, width: v.videoWidth, state: { w: v.videoWidth, t: v.currentTime, off: tile.className } };
});

const messages = (page) => page.$$eval('#messages li:not(.system)', (lis) => lis.map((li) => `${li.dataset.from}: ${li.dataset.text}`));

run('demo', 150_000, async () => {
  const context = await launch();
  await context.addInitScript(loopback);
  const a = await enter(context, 'A', 'Alice', true);
  const b = await enter(context, 'B', 'Bob');

  const va = await waitFor('Alice sees Bob', () => remoteVideo(a), 60_000);
  const vb = await waitFor('Bob sees Alice', () => remoteVideo(b), 60_000);
  if (va.name !== 'Bob' || vb.name !== 'Alice') throw new Error(`tile names: ${va.name}, ${vb.name}`);
  console.log(`ok video-both-ways ${va.width}px ${vb.width}px`);

  await a.fill('#chatInput', 'Hi Bob, can you see me?');
  await a.press('#chatInput', 'Enter');
  await waitFor('Bob gets the message', async () => (await messages(b)).includes('Alice: Hi Bob, can you see me?'));
  await b.fill('#chatInput', 'Loud and clear!');
  await b.click('#sendBtn');
  await waitFor('Alice gets the reply', async () => (await messages(a)).includes('Bob: Loud and clear!'));
  console.log('ok chat-both-ways');

  await b.click('#micBtn');
  if (await b.textContent('#micBtn') !== 'Unmute') throw new Error('mute button did not toggle');
  await b.click('#micBtn');
  console.log('ok mute-toggle');

  fs.mkdirSync(shots, { recursive: true });
  await a.screenshot({ path: path.join(shots, 'demo-alice.png') });
  await b.screenshot({ path: path.join(shots, 'demo-bob.png') });
  console.log(`ok screenshots ${shots}`);

  await b.click('#leaveBtn');
  await b.waitForSelector('#lobby:not([hidden])');
  await waitFor('Bob\'s tile gone on Alice', async () => (await a.$$('.tile:not(.self)')).length === 0);
  await waitFor('Alice told Bob left', async () => (await a.$$eval('#messages li.system', (l) => l.map((x) => x.textContent))).includes('Bob left the call'));
  console.log('ok leave');
});

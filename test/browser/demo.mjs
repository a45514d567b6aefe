// demo.mjs BASE_URL SCREENSHOT_DIR [pair|full] — the demo page at BASE_URL/
// in Chromium pages.
//   pair (default): two pages join one room through the lobby form, chat
//     both ways over Socket.IO, see each other's (fake camera) video in the
//     remote tile, toggle mute, and one leaves. Screenshots of the lobby and
//     both pages are written to SCREENSHOT_DIR.
//   full: four pages fill a call, two with cameras and two receive-only;
//     everyone sees three remote tiles, video from the cameras and the
//     avatar for the others; a fifth is told the call is full and can still
//     chat. WebRTC is kept on 127.0.0.0/8 by
// pages/loopback.js, injected before the page's own scripts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newPage, run, waitFor } from './browser.mjs';

const [base, shots, scenario = 'pair'] = process.argv.slice(2);
const room = `demo-${Math.random().toString(36).slice(2, 8)}`;
const loopback = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages', 'loopback.js'), 'utf8');

async function enter(context, label, name, lobbyShot, withMedia = true) {
  const page = await newPage(`${base}/`, label);
  await page.setViewportSize({ width: 1280, height: 720 });
  if (lobbyShot) {
    fs.mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'demo-lobby.png') });
  }
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 30_000 });
  await page.fill('#name', name);
  await page.fill('#room', room);
  if (!withMedia) await page.uncheck('#withMedia');
  await page.click('#joinBtn');
  try {
    await page.waitForSelector('#roomView:not([hidden])', { timeout: 60_000 });
  } catch (err) {
    const lobby = await page.textContent('#lobbyError').catch(() => '?');
    const btn = await page.textContent('#joinBtn').catch(() => '?');
    const form = await page.evaluate(() => ({
      url: location.href, valid: document.querySelector('#joinForm').checkValidity(),
      name: document.querySelector('#name').value, room: document.querySelector('#room').value,
      lobby: !document.querySelector('#lobby').hidden, roomView: !document.querySelector('#roomView').hidden,
      banner: document.querySelector('#bannerText').textContent,
    })).catch((e) => String(e));
    throw new Error(`${label} did not enter the room (button "${btn}", lobby error "${lobby}", ${JSON.stringify(form)}): ${err.message.split('\n')[0]}`);
  }
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

// In the four-person call twelve video streams are encoded and decoded on
// the test machine; small, slow frames keep that affordable.
const smallCamera = `(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => gum({ ...c, video: c && c.video ? { width: 160, height: 120, frameRate: 10 } : false });
})();`;

async function full(context) {
  await context.addInitScript(smallCamera);
  // Ana and Ben bring cameras; Cleo and Dev join without camera or
  // microphone (receive only), which keeps the machine's video work to six
  // streams and covers the camera-less path.
  const people = [['Ana', true], ['Ben', true], ['Cleo', false], ['Dev', false]];
  const pages = [];
  for (const [i, [n, media]] of people.entries()) pages.push(await enter(context, `P${i + 1}`, n, false, media));
  for (const [i, p] of pages.entries()) {
    await waitFor(`${people[i][0]} sees the others`, () => p.evaluate(() => {
      const tiles = [...document.querySelectorAll('.tile:not(.self)')].map((t) => ({
        name: t.querySelector('.name').textContent,
        width: t.querySelector('video').videoWidth,
        off: t.classList.contains('video-off'),
      }));
      const withVideo = tiles.filter((t) => t.name === 'Ana' || t.name === 'Ben');
      const without = tiles.filter((t) => t.name === 'Cleo' || t.name === 'Dev');
      const ok = tiles.length === 3 && withVideo.every((t) => t.width > 0 && !t.off) && without.every((t) => t.off);
      return { ok, state: tiles };
    }), 90_000);
  }
  console.log('ok four-in-call');
  fs.mkdirSync(shots, { recursive: true });
  await pages[0].screenshot({ path: path.join(shots, 'demo-four.png') });
  const fifth = await enter(context, 'P5', 'Eve', false, false);
  await fifth.waitForSelector('#banner:not([hidden])', { timeout: 60_000 });
  const text = await fifth.textContent('#bannerText');
  if (!/already has 4 people/.test(text)) throw new Error(`fifth person's banner: ${text}`);
  await fifth.fill('#chatInput', 'Eve here, chat only');
  await fifth.press('#chatInput', 'Enter');
  await waitFor('Ana reads Eve', async () => (await messages(pages[0])).includes('Eve: Eve here, chat only'), 60_000);
  console.log('ok fifth-told-full');
}

run(`demo-${scenario}`, 300_000, async () => {
  if (scenario === 'full') {
    const context = await launch();
    await context.addInitScript(loopback);
    return full(context);
  }
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

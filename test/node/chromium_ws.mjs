// chromium_ws.mjs URL [PAGE_URL] [URL PAGE_URL ...] — Chromium's own WebSocket (driven by playwright-core)
// against a WebSocket echo server: text, binary, large and compressed
// messages, checked byte for byte inside the page.
//
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM_PATH), started with
// exactly the flags below and a new empty user-data-dir; no browser is ever
// downloaded. Chromium offers permessage-deflate by default, and the script
// requires the server to accept it. With PAGE_URL the page is loaded first,
// so the WebSocket carries that page's Origin (same-origin checks see a real
// browser request); otherwise it runs from about:blank. Further URL/PAGE_URL
// pairs are run in turn in the same browser (one launch, several servers).
// A URL written as !URL must instead be refused at the handshake (e.g. a
// cross-origin page): the socket must close with 1006 without opening.
// The echo cases ask for subprotocols ["x-unknown", "switchboard.v1"] and
// require the server to pick "switchboard.v1".
// Prints one "ok <case>" line per case and
// exits 0, or prints "FAIL ..." and exits 1.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const targets = [];
for (let i = 2; i < process.argv.length; i += 2) {
  const arg = process.argv[i];
  const reject = arg.startsWith('!');
  targets.push({ url: reject ? arg.slice(1) : arg, pageURL: process.argv[i + 1], reject });
}
if (targets.length === 0) {
  console.error('usage: node chromium_ws.mjs ws://host:port/path [http://host:port/page]');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The flags the interop tests are specified with; Playwright's own defaults
// are ignored so nothing else is added but the pipe it drives Chromium over.
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let context;
let userDataDir;
function fail(msg) {
  console.log(`FAIL ${msg}`);
  cleanup().finally(() => process.exit(1));
}
async function cleanup() {
  try { if (context) await context.close(); } catch { /* already gone */ }
  try { if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
}
setTimeout(() => fail('timeout after 120s'), 120_000).unref();

// Runs inside the page: the handshake must fail (no open, close 1006).
async function expectRefused(url) {
  const ws = new WebSocket(url);
  const e = await new Promise((resolve, reject) => {
    ws.onopen = () => reject(new Error(`${url}: opened, want the handshake refused`));
    ws.onclose = resolve;
    setTimeout(() => reject(new Error(`${url}: neither opened nor closed in 20s`)), 20_000);
  });
  if (e.code !== 1006) throw new Error(`${url}: closed with ${e.code}, want 1006`);
  return [`ok refused (${location.origin} -> ${url}, close ${e.code})`];
}

// Runs inside the page. Returns a list of result lines; throws on failure.
async function runCases(url) {
  const log = [];
  const MiB = 1 << 20;
  function random(n) {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
    return b;
  }
  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  const ws = new WebSocket(url, ['x-unknown', 'switchboard.v1']);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  const waiters = [];
  let closed = null;
  ws.onmessage = (e) => {
    const w = waiters.shift();
    if (w) w(e.data); else queue.push(e.data);
  };
  const closedP = new Promise((resolve) => {
    ws.onclose = (e) => {
      closed = e;
      for (const w of waiters.splice(0)) w(null);
      resolve(e);
    };
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('WebSocket error before open'));
  });
  const next = () => new Promise((resolve) => {
    if (queue.length) resolve(queue.shift());
    else if (closed) resolve(null);
    else waiters.push(resolve);
  });
  if (ws.protocol !== 'switchboard.v1') throw new Error(`subprotocol "${ws.protocol}", want switchboard.v1`);
  log.push(`ok subprotocol (${ws.protocol})`);
  if (!ws.extensions.includes('permessage-deflate')) {
    throw new Error(`server did not accept permessage-deflate (extensions "${ws.extensions}")`);
  }
  log.push(`ok deflate-negotiated (${ws.extensions})`);

  async function echo(name, payload) {
    ws.send(payload);
    const got = await next();
    if (got === null) throw new Error(`${name}: closed with ${closed.code} ${closed.reason}`);
    if (typeof payload === 'string') {
      if (typeof got !== 'string') throw new Error(`${name}: echoed as binary`);
      if (got !== payload) throw new Error(`${name}: echo differs (${got.length} vs ${payload.length} chars)`);
      log.push(`ok ${name} (${payload.length} chars)`);
    } else {
      if (!(got instanceof ArrayBuffer)) throw new Error(`${name}: echoed as text`);
      if (!equalBytes(new Uint8Array(got), payload)) throw new Error(`${name}: echo differs (${got.byteLength} vs ${payload.length} bytes)`);
      log.push(`ok ${name} (${payload.length} bytes)`);
    }
  }
  await echo('text', 'hello from chromium');
  await echo('text-utf8', 'héllo wörld ✓ 🌍');
  await echo('text-empty', '');
  await echo('binary', random(1000));
  await echo('binary-empty', new Uint8Array(0));
  await echo('binary-65536', random(65536));
  await echo('large-binary', random(MiB));
  // Compressible payloads: Chromium compresses them (it negotiated
  // permessage-deflate above) and our server must inflate and echo them.
  await echo('large-text-compressible', 'Switchboard ✓ héllo 🌍 '.repeat(40000));
  await echo('large-binary-compressible', new Uint8Array(MiB).fill(97));
  const burst = Array.from({ length: 50 }, (_, i) => `burst ${i} ${'x'.repeat(i * 10)}`);
  for (const b of burst) ws.send(b);
  for (const b of burst) {
    const got = await next();
    if (got !== b) throw new Error(`burst: got ${String(got).slice(0, 40)} want ${b.slice(0, 40)}`);
  }
  log.push(`ok burst (${burst.length} messages in flight)`);
  ws.close(1000, 'bye');
  const e = await closedP;
  if (e.code !== 1000 || !e.wasClean) throw new Error(`close: code ${e.code} wasClean ${e.wasClean}`);
  log.push('ok close-1000');
  return log;
}

try {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    ignoreDefaultArgs: true,
    args: [...chromiumFlags, '--remote-debugging-pipe', `--user-data-dir=${userDataDir}`, 'about:blank'],
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => console.log(`console: ${m.text()}`));
  console.log(`browser ${context.browser()?.version() ?? await page.evaluate(() => navigator.userAgent)}`);
  for (const { url, pageURL, reject } of targets) {
    if (pageURL) {
      const res = await page.goto(pageURL, { timeout: 30_000 });
      if (!res || !res.ok()) throw new Error(`GET ${pageURL}: ${res ? res.status() : 'no response'}`);
      console.log(`page ${pageURL} loaded`);
    }
    console.log(`server ${url}`);
    const lines = await page.evaluate(reject ? expectRefused : runCases, url);
    for (const l of lines) console.log(l);
  }
} catch (err) {
  console.log(`FAIL ${err && err.message ? err.message : String(err)}`);
  await cleanup();
  process.exit(1);
}
await cleanup();
console.log('PASS chromium_ws');
process.exit(0);

// Shared helpers of the browser test scripts: launch Debian's Chromium
// through playwright-core (from $NODE_MODULES, test/node/node_modules) with
// the flags the tests are specified with, a fresh user-data-dir, and poll
// page state with deadlines.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_MODULES || path.resolve('../node/node_modules'), 'noop.js'));
const { chromium } = require('playwright-core');

export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

let context;
let userDataDir;

export async function launch() {
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-browser-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    ignoreDefaultArgs: true,
    args: [...chromiumFlags, '--remote-debugging-pipe', `--user-data-dir=${userDataDir}`, 'about:blank'],
    timeout: 60_000,
  });
  return context;
}

export async function cleanup() {
  try { if (context) await context.close(); } catch { /* already gone */ }
  try { if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
}

export function fail(msg) {
  console.log(`FAIL ${msg}`);
  cleanup().finally(() => process.exit(1));
}

// run wraps a scenario: a global timeout, PASS/FAIL lines, cleanup.
export function run(name, timeoutMs, fn) {
  setTimeout(() => fail(`${name}: timeout after ${timeoutMs / 1000}s`), timeoutMs).unref();
  fn().then(async () => {
    console.log(`PASS ${name}`);
    await cleanup();
    process.exit(0);
  }, (err) => fail(`${name}: ${err && err.stack ? err.stack : err}`));
}

// newPage opens url in a new tab and forwards its console and errors.
export async function newPage(url, label) {
  const page = context.pages().find((p) => p.url() === 'about:blank' && !p.__used) || await context.newPage();
  page.__used = true;
  page.on('console', (m) => console.log(`[${label}] ${m.text()}`));
  page.on('pageerror', (e) => console.log(`[${label}] pageerror: ${e.message}`));
  const res = await page.goto(url, { timeout: 60_000 });
  if (!res || !res.ok()) throw new Error(`GET ${url}: ${res ? res.status() : 'no response'}`);
  return page;
}

// waitFor polls fn() until it returns a truthy value or the deadline
// passes; the error names what was awaited and the last value seen.
export async function waitFor(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last && last.ok !== false) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last && last.state !== undefined ? last.state : last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

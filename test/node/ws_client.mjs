// ws_client.mjs URL [MAX_MESSAGE_SIZE] — drives a WebSocket echo server with npm `ws` as the
// client and checks every echo byte for byte.
//
// Run by test/interop/ws. Two connections: one without compression, one with
// perMessageDeflate offered (threshold 0, so every message is compressed) that
// must be accepted by the server. Then a hostile peer: invalid UTF-8 in a
// text message must be closed with 1007, and, when MAX_MESSAGE_SIZE (the
// server's limit in bytes) is given, a message one byte over it with 1009.
// Prints one "ok <case>" line per case and
// exits 0, or prints "FAIL ..." and exits 1.
import { WebSocket } from 'ws';
import { randomBytes } from 'node:crypto';

const url = process.argv[2];
const maxMessageSize = process.argv[3] ? Number(process.argv[3]) : 0;
if (!url) {
  console.error('usage: node ws_client.mjs ws://host:port/path [MAX_MESSAGE_SIZE]');
  process.exit(2);
}

function fail(msg) {
  console.log(`FAIL ${msg}`);
  process.exit(1);
}

// A hard deadline so a hung server cannot hang the test.
setTimeout(() => fail('timeout after 60s'), 60_000).unref();

function open(options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

// Queue of received messages, so a case can await the next echo.
function receiver(ws) {
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = { data: Buffer.from(data), isBinary };
    const w = waiters.shift();
    if (w) w(m); else queue.push(m);
  });
  ws.on('close', (code) => {
    for (const w of waiters.splice(0)) w({ closed: code });
  });
  return () => new Promise((resolve) => {
    const m = queue.shift();
    if (m) resolve(m); else waiters.push(resolve);
  });
}

async function echo(next, ws, name, payload, binary, sendOpts = {}) {
  ws.send(payload, { binary, ...sendOpts });
  const m = await next();
  if (m.closed !== undefined) fail(`${name}: connection closed with ${m.closed}`);
  if (m.isBinary !== binary) fail(`${name}: echoed as ${m.isBinary ? 'binary' : 'text'}`);
  const want = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  if (!m.data.equals(want)) fail(`${name}: echo differs (got ${m.data.length} bytes, want ${want.length})`);
  console.log(`ok ${name} (${want.length} bytes)`);
}

async function fragmented(next, ws, name, parts, binary) {
  parts.forEach((p, i) => ws.send(p, { binary, fin: i === parts.length - 1 }));
  const m = await next();
  const want = Buffer.concat(parts.map((p) => Buffer.from(p)));
  if (m.closed !== undefined) fail(`${name}: connection closed with ${m.closed}`);
  if (m.isBinary !== binary || !m.data.equals(want)) fail(`${name}: echo differs`);
  console.log(`ok ${name} (${parts.length} fragments, ${want.length} bytes)`);
}

function ping(ws, name) {
  return new Promise((resolve) => {
    const payload = Buffer.from('ping-payload');
    ws.once('pong', (data) => {
      if (!Buffer.from(data).equals(payload)) fail(`${name}: pong payload ${data}`);
      console.log(`ok ${name}`);
      resolve();
    });
    ws.ping(payload);
  });
}

function closeNormally(ws, name) {
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => {
      if (code !== 1000) fail(`${name}: close code ${code} ${reason}`);
      console.log(`ok ${name}`);
      resolve();
    });
    ws.close(1000, 'bye');
  });
}

const MiB = 1 << 20;
const largeText = 'Switchboard ✓ héllo 🌍 '.repeat(Math.ceil(MiB / 28)).slice(0, MiB);

async function cases(ws, prefix, compressed) {
  const next = receiver(ws);
  await echo(next, ws, `${prefix}text`, 'hello, switchboard', false);
  await echo(next, ws, `${prefix}text-utf8`, 'héllo wörld ✓ 🌍', false);
  await echo(next, ws, `${prefix}text-empty`, '', false);
  await echo(next, ws, `${prefix}binary`, randomBytes(1000), true);
  await echo(next, ws, `${prefix}binary-empty`, Buffer.alloc(0), true);
  await echo(next, ws, `${prefix}binary-125`, randomBytes(125), true);
  await echo(next, ws, `${prefix}binary-126`, randomBytes(126), true);
  await echo(next, ws, `${prefix}binary-65536`, randomBytes(65536), true);
  await echo(next, ws, `${prefix}large-binary`, randomBytes(MiB), true);
  await echo(next, ws, `${prefix}large-text`, largeText, false);
  if (compressed) {
    await echo(next, ws, `${prefix}compressible-binary`, Buffer.alloc(MiB, 'abcdefgh'), true);
  }
  // ws compresses each fragment with one deflate stream, so this also covers
  // fragmented compressed messages when compression is on.
  await fragmented(next, ws, `${prefix}fragmented-text`, ['frag', 'mented ✓', ' text'], false);
  await fragmented(next, ws, `${prefix}fragmented-binary`, [randomBytes(10), randomBytes(70000), randomBytes(3)], true);
  // Several messages in flight at once must come back in order.
  const burst = Array.from({ length: 50 }, (_, i) => `burst ${i}`);
  for (const b of burst) ws.send(b);
  for (const b of burst) {
    const m = await next();
    if (m.closed !== undefined || m.data.toString() !== b) fail(`${prefix}burst: got ${m.data} want ${b}`);
  }
  console.log(`ok ${prefix}burst (${burst.length} messages in flight)`);
  await ping(ws, `${prefix}ping-pong`);
  await closeNormally(ws, `${prefix}close-1000`);
}

// Sends payload (raw bytes, as text or binary, unchecked by ws) and expects
// the server to close the connection with code.
function expectClose(ws, name, payload, binary, code) {
  return new Promise((resolve) => {
    ws.on('message', () => fail(`${name}: server echoed instead of closing`));
    ws.once('close', (got) => {
      if (got !== code) fail(`${name}: close code ${got}, want ${code}`);
      console.log(`ok ${name} (closed with ${got})`);
      resolve();
    });
    ws.on('error', () => { /* a close after an error still reports its code */ });
    ws.send(payload, { binary });
  });
}

try {
  const plain = await open({ perMessageDeflate: false });
  if (plain.extensions !== '') fail(`plain: unexpected extensions ${plain.extensions}`);
  await cases(plain, '', false);

  const deflate = await open({ perMessageDeflate: { threshold: 0 } });
  if (!deflate.extensions.includes('permessage-deflate')) {
    fail(`deflate: server did not accept permessage-deflate (extensions "${deflate.extensions}")`);
  }
  console.log(`ok deflate-negotiated (${deflate.extensions})`);
  await cases(deflate, 'deflate-', true);

  // Invalid UTF-8 (a lone continuation byte, then an overlong encoding) in a
  // text message: RFC 6455 §8.1 requires failing the connection with 1007.
  await expectClose(await open({ perMessageDeflate: false }), 'invalid-utf8-1007',
    Buffer.from([0x68, 0x69, 0x80, 0xc0, 0xaf]), false, 1007);
  await expectClose(await open({ perMessageDeflate: { threshold: 0 } }), 'deflate-invalid-utf8-1007',
    Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xed, 0xa0, 0x80]), false, 1007);
  if (maxMessageSize > 0) {
    await expectClose(await open({ perMessageDeflate: false }), 'too-big-1009',
      Buffer.alloc(maxMessageSize + 1, 7), true, 1009);
    // Compressed, the message is tiny on the wire; the limit applies to its
    // inflated size.
    await expectClose(await open({ perMessageDeflate: { threshold: 0 } }), 'deflate-too-big-1009',
      Buffer.alloc(maxMessageSize + 1, 7), true, 1009);
  }
} catch (err) {
  fail(err && err.stack ? err.stack : String(err));
}
console.log('PASS ws_client');
process.exit(0);

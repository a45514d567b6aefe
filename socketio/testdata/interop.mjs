// interop.mjs URL CASE... — drives the Go Socket.IO server with the real npm
// socket.io-client (resolved from $NODE_MODULES). Each case prints
// "ok <case>"; any failure prints "FAIL <case>: <why>" and exits 1.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_MODULES, "noop.js"));
const { io } = require("socket.io-client");

const [url, ...cases] = process.argv.slice(2);

function fail(msg) {
  throw new Error(msg);
}
function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) fail(`${what}: got ${g}, want ${w}`);
}
function once(socket, ev, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${ev}`)), ms);
    socket.once(ev, (...args) => { clearTimeout(t); resolve(args); });
  });
}
function connect(opts = {}, nsp = "/") {
  const s = io(url + nsp, { forceNew: true, reconnection: false, ...opts });
  return s;
}
async function connected(s) {
  if (!s.connected) await once(s, "connect");
  return s;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const transports = {
  polling: { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"] },
};

async function basics(name) {
  const s = await connected(connect(transports[name]));
  if (name === "upgrade") {
    if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
    eq(s.io.engine.transport.name, "websocket", "transport after upgrade");
  } else {
    eq(s.io.engine.transport.name, name, "transport");
  }
  // text echo with ack; key order and unicode kept
  const text = await s.timeout(3000).emitWithAck("echo", { z: 1, a: "é<>&", n: [1.5, null, true] }, "two");
  eq(text, { z: 1, a: "é<>&", n: [1.5, null, true] }, "echo ack (first argument)");
  // binary both ways, nested
  const bin = await s.timeout(3000).emitWithAck("echo", { file: Buffer.from([1, 2, 3]), deep: [Buffer.from("xyz")] });
  if (!Buffer.isBuffer(bin.file) || !bin.file.equals(Buffer.from([1, 2, 3]))) fail("binary echo: file");
  if (!Buffer.isBuffer(bin.deep[0]) || bin.deep[0].toString() !== "xyz") fail("binary echo: deep");
  // server asks the client, client acks
  s.on("question", (q, cb) => cb({ answer: q * 2, blob: Buffer.from([9]) }));
  const [reply] = await Promise.all([once(s, "answer-was"), s.emit("ask-client", 21)]);
  eq(reply[0], { answer: 42, blob: 9 }, "server saw the client's ack");
  // server-side ack timeout: the client never answers
  s.on("question-ignored", () => {});
  const [timeoutErr] = await Promise.all([once(s, "ask-timeout"), s.emit("ask-ignored")]);
  eq(timeoutErr[0], "timeout", "server ack timeout");
  // client-side ack timeout
  let timedOut = false;
  try {
    await s.timeout(100).emitWithAck("slow", 1000);
  } catch (e) {
    timedOut = true;
  }
  if (!timedOut) fail("client ack did not time out");
  s.disconnect();
}

async function rooms() {
  const a = await connected(connect(transports.websocket));
  const b = await connected(connect(transports.polling));
  const c = await connected(connect(transports.websocket));
  for (const s of [a, b, c]) eq(await s.emitWithAck("join", "r1"), { ok: true }, "join");
  await c.emitWithAck("join", "muted");
  const gotB = once(b, "shout"), gotC = [];
  c.on("shout", (...args) => gotC.push(args));
  let selfGot = false;
  a.on("shout", () => { selfGot = true; });
  await a.emitWithAck("shout", { room: "r1", except: "muted", msg: "hi" });
  eq((await gotB)[0], "hi", "room broadcast");
  await sleep(100);
  if (selfGot) fail("sender received its own broadcast");
  if (gotC.length) fail("excepted socket received the broadcast");
  for (const s of [a, b, c]) s.disconnect();
}

async function middleware() {
  const s = connect({}, "/private");
  const [err] = await once(s, "connect_error");
  eq(err.message, "not allowed", "connect_error message");
  eq(err.data, { code: 4001 }, "connect_error data");
  s.disconnect();
  const ok = connect({ auth: { token: "good" } }, "/private");
  await connected(ok);
  ok.disconnect();
}

async function recovery() {
  const s = io(url, { forceNew: true, transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 100 });
  await connected(s);
  if (s.recovered) fail("recovered on first connect");
  const firstId = s.id;
  await s.emitWithAck("join", "rec");
  const seen = [];
  s.on("rec", (n) => seen.push(n));
  await s.emitWithAck("broadcast", { room: "rec", n: 1 });
  while (seen.length < 1) await sleep(10);
  // Cut the transport; while the client is away, another client broadcasts
  // (on a loaded machine the reconnection may come first: then 2 and 3
  // arrive live, and the session must still have been recovered).
  const other = await connected(connect(transports.websocket));
  const reconnected = once(s, "connect", 10000);
  s.io.engine.close();
  await other.emitWithAck("broadcast", { room: "rec", n: 2 });
  await other.emitWithAck("broadcast", { room: "rec", n: 3 });
  await reconnected;
  if (!s.recovered) fail("not recovered");
  eq(s.id, firstId, "socket id kept");
  while (seen.length < 3) await sleep(10);
  eq(seen, [1, 2, 3], "missed packets replayed in order");
  other.disconnect();
  s.disconnect();
}

async function volatile() {
  const s = await connected(connect(transports.websocket));
  const got = [];
  s.on("vol", (n) => got.push(n));
  await s.emitWithAck("volatile", 5);
  await sleep(100);
  if (got.length !== 5) fail(`volatile on an idle websocket: got ${got.length} of 5`);
  s.volatile.emit("echo", "dropped-or-not");
  s.disconnect();
}

async function bigRoom() {
  const N = 100, M = 50;
  const clients = [];
  for (let i = 0; i < N; i++) {
    clients.push(connect(i % 4 === 0 ? transports.polling : transports.websocket));
  }
  await Promise.all(clients.map(connected));
  const got = clients.map(() => []);
  clients.forEach((s, i) => s.on("seq", (n) => got[i].push(n)));
  await Promise.all(clients.map((s) => s.timeout(10000).emitWithAck("join", "big")));
  await clients[0].timeout(10000).emitWithAck("burst", { room: "big", n: M });
  const deadline = Date.now() + 15000;
  while (got.some((g) => g.length < M) && Date.now() < deadline) await sleep(20);
  await sleep(200); // duplicates would show up here
  const want = Array.from({ length: M }, (_, i) => i);
  got.forEach((g, i) => eq(g, want, `client ${i}`));
  clients.forEach((s) => s.disconnect());
}

const all = {
  "basics-polling": () => basics("polling"),
  "basics-websocket": () => basics("websocket"),
  "basics-upgrade": () => basics("upgrade"),
  rooms, middleware, recovery, volatile, "big-room": bigRoom,
};

for (const c of cases) {
  try {
    await all[c]();
    console.log("ok " + c);
  } catch (e) {
    console.log(`FAIL ${c}: ${e.stack || e}`);
    process.exit(1);
  }
}
process.exit(0);

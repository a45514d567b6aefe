// auth.mjs URL GOOD_TOKEN BAD_TOKEN — drives the binary's Socket.IO service
// with JWT auth on, using the real npm socket.io-client (resolved from
// $NODE_MODULES). GOOD_TOKEN's claims: rooms ["lobby", "team-*"], publish
// ["lobby"]. Prints "ok <step>" per step; any failure prints "FAIL: <why>"
// and exits 1.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_MODULES, "noop.js"));
const { io } = require("socket.io-client");

const [url, good, bad] = process.argv.slice(2);

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
function connect(opts) {
  return io(url, { forceNew: true, reconnection: false, transports: ["websocket"], ...opts });
}
const ack = (s, ...args) => s.timeout(5000).emitWithAck(...args);

async function refused(name, opts) {
  const s = connect(opts);
  const [err] = await once(s, "connect_error");
  eq(err.message, "unauthorized", `${name}: connect_error message`);
  s.disconnect();
  console.log("ok refused " + name);
}

try {
  await refused("bad token", { auth: { token: bad } });
  await refused("no token", {});
  await refused("polling, bad token", { transports: ["polling"], auth: { token: bad } });

  const s = io(url, { forceNew: true, transports: ["websocket"], auth: { token: good }, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  await once(s, "connect");
  console.log("ok accepted");
  eq(await ack(s, "join", "team-red"), { ok: true, room: "team-red", members: 1 }, "join team-red");
  eq(await ack(s, "join", "other"), { ok: false, error: "forbidden" }, "join other");
  eq(await ack(s, "publish", { room: "team-red", event: "e", data: 1 }), { ok: false, error: "forbidden" }, "publish team-red");
  eq(await ack(s, "join", "lobby"), { ok: true, room: "lobby", members: 1 }, "join lobby");
  eq(await ack(s, "publish", { room: "lobby", event: "e", data: 1 }), { ok: true }, "publish lobby");
  console.log("ok claims");

  // A broadcast gives the client a recovery offset; then cut the
  // transport: the session is recovered (connection middleware does not
  // run again) and the claims it connected with still apply.
  const o = connect({ auth: { token: good } });
  await once(o, "connect");
  const news = once(s, "news");
  eq(await ack(o, "publish", { room: "lobby", event: "news", data: "hi" }), { ok: true }, "publish from another client");
  eq((await news)[0], "hi", "news"); // then the recovery offset
  const back = once(s, "connect", 10000);
  s.io.engine.close();
  await back;
  if (!s.recovered) fail("session not recovered");
  eq(await ack(s, "join", "other"), { ok: false, error: "forbidden" }, "join other after recovery");
  eq(await ack(s, "join", "team-blue"), { ok: true, room: "team-blue", members: 1 }, "join team-blue after recovery");
  console.log("ok recovered");
  o.disconnect();
  s.disconnect();
} catch (e) {
  console.log(`FAIL: ${e.stack || e}`);
  process.exit(1);
}
process.exit(0);

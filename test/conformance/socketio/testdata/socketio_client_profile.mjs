// socketio_client_profile.mjs URL — cases of socket.io-client's own test
// suite (packages/socket.io-client/test/*.ts in socketio/socket.io), ported
// to run against the "client" profile with the npm socket.io-client
// (resolved from $NODE_MODULES). Prints "ok <case>" per case; exits 1 on the
// first failure.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_MODULES, "noop.js"));
const { io } = require("socket.io-client");
const BASE_URL = process.argv[2];

const fail = (m) => { throw new Error(m); };
const eq = (got, want, what) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
};
const once = (em, ev, ms = 15000) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error("timeout waiting for " + ev)), ms);
  em.once(ev, (...a) => { clearTimeout(t); resolve(a); });
});
const sio = (nsp = "", opts = {}) => io(BASE_URL + nsp, { forceNew: true, ...opts });

const cases = {
  // socket.ts "should have an accessible socket id equal to the server-side socket id"
  async "socket id (default and custom namespace)"() {
    for (const nsp of ["/", "/foo"]) {
      const s = sio(nsp);
      const [id] = await Promise.all([s.emitWithAck("getId"), once(s, "connect")]);
      eq(id, s.id, nsp + " id");
      s.disconnect();
    }
  },
  // socket.ts "should change socket.id upon reconnection" is covered by recovery below
  // socket.ts "should receive connect_error on middleware failure" (main and custom)
  async "connect_error from middleware"() {
    const a = sio("/no");
    eq((await once(a, "connect_error"))[0].message, "Auth failed (custom namespace)", "/no");
    a.disconnect();
    const b = sio("/", { query: { fail: true } });
    eq((await once(b, "connect_error"))[0].message, "Auth failed (main namespace)", "main");
    b.disconnect();
  },
  // socket.ts "should fire an error event on middleware failure from custom namespace" / invalid namespace
  async "invalid namespace"() {
    const s = sio("/doesnotexist");
    eq((await once(s, "connect_error"))[0].message, "Invalid namespace", "message");
    s.disconnect();
  },
  // socket.ts "query option" and "auth option"
  async "handshake query and auth"() {
    const a = sio("/abc", { query: { "&a": "&=?a" }, auth: { a: "b", c: "d" } });
    const [hs] = await once(a, "handshake");
    eq(hs.query["&a"], "&=?a", "query");
    eq([hs.auth.a, hs.auth.c], ["b", "d"], "auth");
    a.disconnect();
    const b = sio("/?c=d");
    eq((await b.emitWithAck("getHandshake")).query.c, "d", "default namespace query");
    b.disconnect();
  },
  // connection.ts "should work with acks", "should receive date with ack", "should receive utf8 multibyte characters"
  async "acks, dates, utf8, false"() {
    const s = sio();
    s.on("ack", (cb) => cb(5, { test: true }));
    s.emit("ack");
    await once(s, "got it");
    const date = await s.emitWithAck("getAckDate", { test: true });
    if (typeof date !== "string" || isNaN(Date.parse(date))) fail("ack date " + date);
    s.emit("getDate");
    if (isNaN(Date.parse((await once(s, "takeDate"))[0]))) fail("takeDate");
    s.emit("getDateObj");
    if (isNaN(Date.parse((await once(s, "takeDateObj"))[0].date))) fail("takeDateObj");
    const utf8 = [];
    s.on("takeUtf8", (d) => utf8.push(d));
    s.emit("getUtf8");
    while (utf8.length < 5) await new Promise((r) => setTimeout(r, 5));
    eq(utf8, ["てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string", "utf8 — string"], "utf8");
    s.emit("false");
    eq((await once(s, "false"))[0], false, "false");
    s.disconnect();
  },
  // connection.ts binary cases: doge, buffa, jsonbuff, abuff1/2, getbin
  async "binary"() {
    const s = sio();
    s.emit("doge");
    const [buf] = await once(s, "doge");
    eq(Buffer.from(buf).toString(), "asdfasdf", "doge");
    s.emit("buffa", Buffer.from("asdfasdf"));
    await once(s, "buffack");
    s.emit("jsonbuff", { hello: "lol", message: Buffer.from("asdfasdf"), goodbye: "gotcha" });
    await once(s, "jsonbuff-ack");
    s.emit("abuff1", Buffer.from("asdfasdf"));
    s.emit("abuff2", Buffer.from("asdfasdf"));
    await once(s, "abuff2-ack");
    s.emit("blob1", Buffer.from("x"));
    s.emit("blob2", "second");
    s.emit("blob3", Buffer.from("y"));
    await once(s, "blob3-ack");
    s.emit("getbin");
    eq(Buffer.from((await once(s, "takebin"))[0]).toString(), "asdfasdf", "takebin");
    s.disconnect();
  },
  // socket.ts "timeout": unknown events are never acknowledged; echo is
  async "ack timeouts"() {
    const s = sio();
    let timedOut = false;
    try { await s.timeout(200).emitWithAck("unknown"); } catch { timedOut = true; }
    if (!timedOut) fail("unknown event acknowledged");
    eq(await s.timeout(2000).emitWithAck("echo", 42), 42, "echo");
    s.disconnect();
  },
  // retry.ts "should fail when the server does not acknowledge the packet"
  async "retries against a handler that never acks"() {
    const s = sio("", { retries: 3, ackTimeout: 100 });
    let count = 0;
    s.on("ack", () => count++);
    const err = await new Promise((resolve) => s.emit("ack", (e) => resolve(e)));
    if (!err) fail("ack unexpectedly answered");
    eq(count, 4, "server saw the packet once per try");
    s.disconnect();
  },
  // connection-state-recovery.ts
  async "connection state recovery"() {
    const s = sio("", { reconnectionDelay: 10 });
    eq(s.recovered, false, "recovered before connect");
    s.emit("hi"); // init the offset
    await once(s, "hi");
    const id = s.id;
    s.io.engine.close();
    await once(s, "connect");
    eq(s.id, id, "id");
    eq(s.recovered, true, "recovered");
    s.disconnect();
  },
};

for (const [name, fn] of Object.entries(cases)) {
  try {
    await fn();
    console.log("ok " + name);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack || e}`);
    process.exit(1);
  }
}
process.exit(0);

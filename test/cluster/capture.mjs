// capture.mjs REDIS_PORT OUT_FILE — records the raw Redis traffic of two
// Node.js socket.io 4.8 servers joined by @socket.io/redis-adapter 8.3 while
// they exercise every message type, for adapter/redis/wire's golden tests.
// Each line of OUT_FILE is {"channel":..., "hex":...} in publication order.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
const require = createRequire(new URL("../node/package.json", import.meta.url));
const { Server } = require("socket.io");
const { io: connect } = require("socket.io-client");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const http = require("node:http");

const [port, out] = process.argv.slice(2);
const url = `redis://127.0.0.1:${port}`;
const records = [];
const spy = createClient({ url });
await spy.connect();
await spy.pSubscribe("*", (msg, channel) => records.push({ channel: channel.toString(), hex: msg.toString("hex") }), true);

async function node() {
  const pub = createClient({ url }); const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const srv = http.createServer();
  const io = new Server(srv, { adapter: createAdapter(pub, sub) });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return { io, port: srv.address().port, pub, sub, srv };
}
const a = await node(), b = await node();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(200);
b.io.on("connection", (s) => { s.join("room1"); s.data = { name: "bob" }; });
b.io.on("ping-all", (x, cb) => cb({ pong: x }));
const c = connect(`http://127.0.0.1:${b.port}`, { transports: ["websocket"] });
c.on("ask", (x, cb) => cb({ answer: x, bin: Buffer.from([9, 8]) }));
await new Promise((r) => c.on("connect", r));
await sleep(100);

a.io.emit("hello", "world", 1, 2.5, -7, { a: [true, null] });
a.io.to("room1").emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from("xy") });
a.io.to("room1").to("room2").except("room3").volatile.emit("multi", "x");
await sleep(100);
const socks = await a.io.in("room1").fetchSockets();
if (socks.length !== 1) throw new Error("fetchSockets: " + socks.length);
const rooms = await a.io.of("/").adapter.allRooms();
a.io.in("room1").socketsJoin("room4");
a.io.in("room4").socketsLeave("room4");
const acks = await a.io.serverSideEmitWithAck("ping-all", 42);
a.io.serverSideEmit("note", "n1");
const replies = await a.io.timeout(2000).emitWithAck("ask", 5);
await sleep(100);
a.io.in("nobody").disconnectSockets(true);
await sleep(200);
console.log(JSON.stringify({ fetched: socks.length, rooms: [...rooms].length, acks, replies: replies.map(r => ({ answer: r.answer, bin: [...r.bin] })) }));
writeFileSync(out, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
c.close();
for (const n of [a, b]) { n.io.close(); await n.pub.quit(); await n.sub.quit(); }
await spy.quit();
process.exit(0);

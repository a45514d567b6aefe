// nodeserver.mjs PORT REDIS_PORT — a Node.js socket.io 4.8 server with
// @socket.io/redis-adapter 8.3 on 127.0.0.1:PORT, the reference node of the
// mixed-cluster tests. It offers the binary's "join" event (ack {ok, room,
// members} counted across the cluster) and takes commands as JSON lines on
// stdin, answering on stdout (binary as {"$bin": base64}):
//   {"op":"emit","seq","rooms":[],"except":[],"event","args"}      → {"ev":"done","seq"}
//   {"op":"emitWithAck","seq","rooms","except","event","args","timeout"} → {"ev":"acks","seq","err","replies"}
//   {"op":"fetch","seq","rooms"}                                   → {"ev":"fetched","seq","sockets":[{id,rooms,data,address}]}
//   {"op":"sse","seq","event","args"}                              → {"ev":"sse","seq","err","replies"}
//   {"op":"count","seq"}                                           → {"ev":"count","seq","n"}
// Server-side events from other nodes are reported as {"ev":"serverSide","event","args"}
// and answered with {"node":"js","echo":args[0]}.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
const require = createRequire(new URL("../node/package.json", import.meta.url));
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const http = require("node:http");

const [port, redisPort] = process.argv.slice(2).map(Number);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const enc = (v) => {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { $bin: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
};
const dec = (v) => {
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "base64");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dec(x)]));
  }
  return v;
};

const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
const sub = pub.duplicate();
pub.on("error", (e) => out({ ev: "redis_error", message: e.message }));
sub.on("error", (e) => out({ ev: "redis_error", message: e.message }));
await Promise.all([pub.connect(), sub.connect()]);
const srv = http.createServer();
const io = new Server(srv, { adapter: createAdapter(pub, sub) });
io.on("connection", (socket) => {
  socket.data = { server: "js" };
  socket.on("join", async (room, cb) => {
    socket.join(room);
    const members = await io.in(room).fetchSockets();
    cb({ ok: true, room, members: members.length });
  });
});
io.on("greet", (...args) => {
  const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
  out({ ev: "serverSide", event: "greet", args });
  if (cb) cb({ node: "js", echo: args[0] ?? null });
});
const target = (c) => {
  let op = io;
  for (const r of c.rooms || []) op = op.to(r);
  if (c.except?.length) op = op.except(c.except);
  return op;
};
const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  const c = JSON.parse(line);
  try {
    switch (c.op) {
      case "emit":
        target(c).emit(c.event, ...dec(c.args || []));
        out({ ev: "done", seq: c.seq });
        break;
      case "emitWithAck":
        try {
          const replies = await target(c).timeout(c.timeout || 5000).emitWithAck(c.event, ...dec(c.args || []));
          out({ ev: "acks", seq: c.seq, replies: enc(replies) });
        } catch (e) {
          out({ ev: "acks", seq: c.seq, err: e.message, replies: [] });
        }
        break;
      case "fetch": {
        const socks = await target(c).fetchSockets();
        out({ ev: "fetched", seq: c.seq, sockets: socks.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, address: s.handshake.address })) });
        break;
      }
      case "sse":
        try {
          const replies = await io.serverSideEmitWithAck(c.event, ...(c.args || []));
          out({ ev: "sse", seq: c.seq, replies });
        } catch (e) {
          out({ ev: "sse", seq: c.seq, err: e.message, replies: [] });
        }
        break;
      case "count":
        out({ ev: "count", seq: c.seq, n: await io.of("/").adapter.serverCount() });
        break;
    }
  } catch (e) {
    out({ ev: "error", seq: c.seq, message: e.message });
  }
});
rl.on("close", () => process.exit(0));
srv.listen(port, "127.0.0.1", () => out({ ev: "listening", port }));

// jsnode.mjs HOST:PORT REDIS_PORT — a Node.js socket.io 4.8 node with
// @socket.io/redis-adapter 8.3 serving the benchmark contract of
// shared/bench/sio (join with cluster-wide member count, publish to the
// room's other members), for bench/cluster/run.sh. Prints "ready" once
// listening.
import { createRequire } from "node:module";
const require = createRequire(new URL("../../test/node/package.json", import.meta.url));
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");
const http = require("node:http");

const [addr, redisPort] = process.argv.slice(2);
const [host, port] = addr.split(":");
const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const srv = http.createServer();
const io = new Server(srv, { adapter: createAdapter(pub, sub) });
io.on("connection", (socket) => {
  socket.on("join", async (room, cb) => {
    socket.join(room);
    const members = await io.in(room).fetchSockets();
    if (typeof cb === "function") cb({ ok: true, room, members: members.length });
  });
  socket.on("sub", (room, cb) => {
    socket.join(room);
    if (typeof cb === "function") cb({ ok: true });
  });
  socket.on("publish", (req, cb) => {
    socket.to(req.room).emit(req.event, req.data);
    if (typeof cb === "function") cb({ ok: true });
  });
});
srv.listen(Number(port), host, () => console.error("ready"));
process.on("SIGTERM", () => { io.close(); pub.quit(); sub.quit(); process.exit(0); });

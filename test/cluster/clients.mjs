// clients.mjs — npm socket.io-client 4.8 sockets driven by JSON lines on
// stdin, reporting JSON lines on stdout, for the Go cluster tests.
//
// Commands:
//   {"op":"connect","id":ID,"url":URL}          → {"ev":"connected","id","sid"}
//   {"op":"emit","id":ID,"seq":N,"event":E,"args":[...],"ack":true}
//                                                 → {"ev":"ack","id","seq","args"}
//   {"op":"drop","id":ID}: close the transport (recoverable); with
//     "reconnect":true at connect the client comes back after "delay" ms
//   {"op":"state","id":ID,"seq":N}             → {"ev":"state","id","seq","pid","offset"}
//   {"op":"close","id":ID}, {"op":"exit"}
// "connect" also takes "reconnect", "delay" and "auth"; "connected" reports
// "recovered".
// Every event a socket receives is reported as {"ev":"event","id","event","args"};
// an event that asks for an ack is answered with {"client":ID,"echo":args[0],"bin":<bytes of ID>}.
// Binary values travel as {"$bin":"<base64>"} in both directions.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
const require = createRequire(new URL("../node/package.json", import.meta.url));
const { io } = require("socket.io-client");

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

const sockets = new Map();
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const c = JSON.parse(line);
  switch (c.op) {
    case "connect": {
      const s = io(c.url, { transports: ["websocket"], reconnection: !!c.reconnect, reconnectionDelay: c.delay ?? 1000,
        randomizationFactor: 0, forceNew: true, auth: c.auth });
      sockets.set(c.id, s);
      s.on("connect", () => out({ ev: "connected", id: c.id, sid: s.id, recovered: s.recovered }));
      s.on("connect_error", (e) => out({ ev: "connect_error", id: c.id, message: e.message }));
      s.on("disconnect", (reason) => out({ ev: "disconnect", id: c.id, reason }));
      s.onAny((event, ...args) => {
        const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
        out({ ev: "event", id: c.id, event, args: enc(args) });
        if (cb) cb({ client: c.id, echo: args[0] ?? null, bin: Buffer.from(c.id) });
      });
      break;
    }
    case "emit": {
      const s = sockets.get(c.id);
      const args = dec(c.args || []);
      if (c.ack) s.emit(c.event, ...args, (...reply) => out({ ev: "ack", id: c.id, seq: c.seq, args: enc(reply) }));
      else s.emit(c.event, ...args);
      break;
    }
    case "drop": // lose the transport, as a network failure does
      sockets.get(c.id)?.io.engine.close();
      break;
    case "state": // the recovery state the client would present
      out({ ev: "state", id: c.id, seq: c.seq, pid: sockets.get(c.id)?._pid, offset: sockets.get(c.id)?._lastOffset });
      break;
    case "close":
      sockets.get(c.id)?.close();
      break;
    case "exit":
      for (const s of sockets.values()) s.close();
      process.exit(0);
  }
});
rl.on("close", () => process.exit(0));
out({ ev: "started" });

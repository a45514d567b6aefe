// Drives our Engine.IO server with the official npm engine.io-client
// (test/node/node_modules, found through NODE_PATH). Usage:
//   node eio_client.cjs URL MODE     MODE: polling | websocket | upgrade
// It checks text and binary echoes, a large message, survival across
// heartbeats, and the final transport; prints "OK <transport>" on success.
const { Socket } = require("engine.io-client");

const [url, mode] = process.argv.slice(2);
const opts = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"] },
}[mode];
if (!opts) {
  console.error("unknown mode", mode);
  process.exit(2);
}

const fail = (msg) => {
  console.error("FAIL", msg);
  process.exit(1);
};
setTimeout(() => fail("timeout"), 10000).unref();

const socket = new Socket(url, { path: "/engine.io/", ...opts });
const expected = [];
let upgraded = false;

socket.on("upgrade", () => {
  upgraded = true;
});
socket.on("error", (err) => fail("error " + err));
socket.on("close", (reason) => {
  if (reason !== "forced close") fail("closed: " + reason);
});

socket.on("open", () => {
  const big = "x".repeat(100000);
  const msgs = ["hello", Buffer.from([1, 2, 3]), "ünïcödé €", big];
  const send = () => {
    for (const m of msgs) {
      expected.push(m);
      socket.send(m);
    }
  };
  send();
  // Send again after a few heartbeats (and, in upgrade mode, the upgrade).
  setTimeout(send, 700);
});

socket.on("message", (data) => {
  const want = expected.shift();
  const got = typeof data === "string" ? data : Buffer.from(data);
  const same = typeof want === "string" ? got === want : Buffer.isBuffer(got) && got.equals(want);
  if (!same) fail(`got ${String(got).slice(0, 40)}, want ${String(want).slice(0, 40)}`);
  if (expected.length === 0 && sentTwice()) finish();
});

let rounds = 0;
function sentTwice() {
  rounds++;
  return rounds === 2;
}

function finish() {
  const name = socket.transport.name;
  if (mode === "upgrade" && (!upgraded || name !== "websocket")) fail("not upgraded: " + name);
  if (mode !== "upgrade" && name !== mode) fail("transport " + name);
  console.log("OK " + name);
  socket.close();
}

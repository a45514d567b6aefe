// ws_hold.mjs URL N — opens N npm `ws` connections (half of them with
// permessage-deflate), prints "open N" once all are open, keeps them busy
// with a message every 10 ms each, and waits for the server to close them.
// Prints "closed CODE COUNT" for each close code seen and exits 0 once all N
// are closed (the test judges the codes), or exits 1 after 60 s.
import { WebSocket } from 'ws';

const url = process.argv[2];
const n = Number(process.argv[3] ?? 10);
setTimeout(() => { console.log('FAIL timeout after 60s'); process.exit(1); }, 60_000).unref();

const codes = new Map();
let open = 0;
let closed = 0;
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: i % 2 === 1 });
  let timer;
  ws.on('open', () => {
    open++;
    if (open === n) console.log(`open ${n}`);
    timer = setInterval(() => ws.send(`busy ${i}`), 10);
  });
  ws.on('message', () => {});
  ws.on('error', (err) => console.log(`error ${i} ${err.message}`));
  ws.on('close', (code) => {
    clearInterval(timer);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    closed++;
    if (closed === n) {
      for (const [c, k] of [...codes].sort()) console.log(`closed ${c} ${k}`);
      process.exit(0);
    }
  });
}

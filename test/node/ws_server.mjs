// ws_server.mjs PORT — an echo server built on npm `ws`, for our Go client to
// talk to. Listens on 127.0.0.1:PORT (0 picks one), prints
// "listening <port>" once ready, echoes every message with its type, and
// offers permessage-deflate (threshold 0: every message it sends to a client
// that negotiated the extension is compressed). Exits on SIGTERM/SIGINT; the
// Go test that starts it kills its process group when the test ends.
// Text commands: "cmd:ping" (ping the client, answer "pong:<payload>" once
// its pong arrives), "cmd:fragments" (send "fragmented ✓ message" in three
// frames with a ping between them), "cmd:close:CODE:REASON" (close).
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: { threshold: 0 },
  maxPayload: 64 << 20,
});

wss.on('listening', () => {
  console.log(`listening ${wss.address().port}`);
});

wss.on('connection', (ws, req) => {
  console.log(`connection ${req.headers['sec-websocket-extensions'] ?? ''}`);
  ws.on('message', (data, isBinary) => {
    const cmd = isBinary ? '' : data.toString();
    if (cmd === 'cmd:ping') {
      // Our client must answer a server ping with a pong carrying its payload.
      ws.once('pong', (p) => ws.send(`pong:${p}`));
      ws.ping('ping-payload');
    } else if (cmd === 'cmd:fragments') {
      // One text message in three frames (ws compresses each when the
      // extension is on) with a ping between two of them.
      ws.send('frag', { fin: false });
      ws.ping('interleaved');
      ws.send('mented ✓', { fin: false });
      ws.send(' message', { fin: true });
    } else if (cmd.startsWith('cmd:close:')) {
      const [, , code, reason] = cmd.split(':');
      ws.close(Number(code), reason);
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
  ws.on('error', (err) => console.log(`error ${err.message}`));
  ws.on('close', (code) => console.log(`close ${code}`));
});

function stop() {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// peer_server.mjs PORT [CONCURRENT_LIMIT] — the stock npm `peer` server
// (PeerServer from test/node/node_modules/peer) on 127.0.0.1:PORT at path
// "/", without its CLI's per-connection console logging, for the
// benchmark beside Switchboard's /peerjs.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_MODULES || path.resolve('test/node/node_modules'), 'noop.js'));
const { PeerServer } = require('peer');

const port = Number(process.argv[2] || 9000);
const limit = Number(process.argv[3] || 20000);
PeerServer({ host: '127.0.0.1', port, path: '/', concurrent_limit: limit }, () => {
  console.log(`listening 127.0.0.1:${port}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

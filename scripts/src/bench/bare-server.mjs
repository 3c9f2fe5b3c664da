// The peer for the API benchmark: bare express routes over the same TLS certificate, each
// returning a fixed JSON body (the one the controller's endpoint returned). No security
// middleware, no auth, no store.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import express from 'express';

const [certFile, keyFile, passphraseFile, ...bodies] = process.argv.slice(2);
const app = express();
for (const [index, bodyFile] of bodies.entries()) {
  const body = JSON.parse(readFileSync(bodyFile, 'utf8'));
  app.get(`/bare/${index}`, (_req, res) => {
    res.json(body);
  });
}
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), passphrase: readFileSync(passphraseFile, 'utf8').trim() },
  app,
);
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// The peer for the API benchmark: a bare express route over the same TLS certificate,
// returning a fixed JSON body. No security middleware, no auth, no store.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import express from 'express';

const [certFile, keyFile, passphraseFile, bodyFile] = process.argv.slice(2);
const body = JSON.parse(readFileSync(bodyFile, 'utf8'));
const app = express();
app.get('/bare', (_req, res) => {
  res.json(body);
});
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), passphrase: readFileSync(passphraseFile, 'utf8').trim() },
  app,
);
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// A hostile HTTPS server for latchkey's tests: it answers what no real
// authorization server would, so that the daemon's handling of bad
// documents is tested against real TLS and HTTP.
//
//   node hostile.mjs CONFIG.json   ({ "cert", "key", "portFile" })
//
// GET /CASE/.well-known/openid-configuration answers CASE:
//   notjson   truncated JSON          array     a JSON array
//   html      a text/html page        huge      128 KiB of JSON whitespace
//   impostor  another issuer's document
//   plainhttp this issuer's document with an http:// token endpoint
// Anything else is 404.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const json = 'application/json';

function answer(issuer, name) {
  switch (name) {
    case 'notjson': return [json, '{"issuer": '];
    case 'array': return [json, '[1, 2]'];
    case 'html': return ['text/html', '<html></html>'];
    case 'huge': return [json, ' '.repeat(128 * 1024)];
    case 'impostor': return [json, JSON.stringify({ issuer: 'https://id.example.com' })];
    case 'plainhttp': return [json, JSON.stringify({
      issuer,
      device_authorization_endpoint: `${issuer}/device/auth`,
      token_endpoint: 'http://127.0.0.1/token',
    })];
    default: return null;
  }
}

const server = createServer({ cert: readFileSync(config.cert), key: readFileSync(config.key) }, (req, res) => {
  const match = /^\/([a-z]+)\/\.well-known\/openid-configuration$/.exec(req.url);
  const { port } = server.address();
  const found = match && answer(`https://127.0.0.1:${port}/${match[1]}`, match[1]);
  if (!found) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': found[0] }).end(found[1]);
});

server.listen(0, '127.0.0.1', () => {
  writeFileSync(`${config.portFile}.tmp`, `${server.address().port}\n`);
  renameSync(`${config.portFile}.tmp`, config.portFile);
});

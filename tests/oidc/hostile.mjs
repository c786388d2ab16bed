// A hostile HTTPS server for latchkey's tests: it answers what no real
// authorization server would, so that the daemon's handling of bad
// documents is tested against real TLS and HTTP, and what the tests' own
// provider never says.
//
//   node hostile.mjs CONFIG.json   ({ "cert", "key", "portFile" })
//
// Each CASE is an issuer, https://127.0.0.1:PORT/CASE, whose three
// endpoints are GET /CASE/.well-known/openid-configuration (metadata),
// POST /CASE/device (device authorization) and POST /CASE/token (token).
// An endpoint answers validly unless CASE misbehaves there: the metadata
// names this issuer and its endpoints, the device code is
// DEVICE-CODE-SECRET-CASE (polled every second, alive 3 seconds), and the
// token endpoint says authorization_pending.
//
// Metadata cases:
//   notjson   truncated JSON          array     a JSON array
//   html      a text/html page        huge      128 KiB of JSON whitespace
//   impostor  another issuer's document
//   plainhttp this issuer's document with an http:// token endpoint
// Device authorization cases, device-X, and token cases, token-X, for X:
//   notjson  truncated JSON           array    a JSON array
//   html     a text/html page         500      a 500 with an HTML page
//   huge     valid JSON padded to 128 KiB
//   endless  JSON whitespace without end, until the client hangs up
//   nousercode  no user_code          plainhttp  an http:// verification_uri
//   controlchars  a user_code with an ANSI escape sequence
//   noerror  a 400 without an error member
//   badword  a 400 whose error is no RFC 6749 error code
//   errorobject  a 400 whose error is a JSON object
//   hangup   the connection closed without an answer
// and fine, which never misbehaves. Bad answers carry the case's device
// code and an ACCESS-TOKEN-SECRET-CASE, which the daemon must not repeat.
// Polling cases, whose code lives 30 seconds:
//   token-slowdown  the first poll is told slow_down (RFC 8628 §3.5)
// GET /CASE/requests lists the case's requests so far, one a line:
// ENDPOINT MILLISECONDS, by a monotonic clock (text/plain).
// Anything else is 404.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const json = 'application/json';

// An answer is [status, content type, body], or a function given the response to misbehave with.
const ok = (value) => [200, json, JSON.stringify(value)];
// Once the request is read: closing with unread data would reset the connection instead.
const hangup = (res) => res.req.resume().on('end', () => res.socket.destroy());
const endless = (res) => {
  const chunk = ' '.repeat(64 * 1024);
  const more = () => { while (!res.destroyed && res.write(chunk)); };
  res.writeHead(200, { 'Content-Type': json });
  res.on('drain', more);
  more();
};

// The answers of case @name, whose issuer URL is @issuer, by endpoint, after
// @polls token requests of the case; null for no such case.
function answers(issuer, name, polls) {
  const code = `DEVICE-CODE-SECRET-${name}`;
  const token = `ACCESS-TOKEN-SECRET-${name}`;
  const authorization = {
    device_code: code, user_code: 'WDJB-MJHT', verification_uri: `${issuer}/verify`, expires_in: 3, interval: 1,
  };
  const html = `<html><body>${code} ${token}</body></html>`;
  const [kind, what] = name.split('-');
  const bad = {
    notjson: [200, json, `{"device_code": "${code}", "access_token": "${token}"`],
    array: ok([{ device_code: code, access_token: token }]),
    html: [200, 'text/html', html],
    500: [500, 'text/html', html],
    huge: [200, json, JSON.stringify(authorization) + ' '.repeat(128 * 1024)],
    endless,
    nousercode: ok({ ...authorization, user_code: undefined }),
    plainhttp: ok({ ...authorization, verification_uri: 'http://127.0.0.1/verify' }),
    controlchars: ok({ ...authorization, user_code: 'WDJB\u001b[2JMJHT' }),
    noerror: [400, json, JSON.stringify({ error_description: `no such code ${code}` })],
    badword: [400, json, JSON.stringify({ error: `Invalid ${code}` })],
    errorobject: [400, json, JSON.stringify({ error: { code: 'invalid_grant', device_code: code } })],
    hangup,
  };
  const metadata = {
    notjson: [200, json, '{"issuer": '],
    array: ok([1, 2]),
    html: [200, 'text/html', '<html></html>'],
    huge: [200, json, ' '.repeat(128 * 1024)],
    impostor: ok({ issuer: 'https://id.example.com' }),
    plainhttp: ok({
      issuer, device_authorization_endpoint: `${issuer}/device`, token_endpoint: 'http://127.0.0.1/token',
    }),
  };
  const valid = {
    metadata: ok({ issuer, device_authorization_endpoint: `${issuer}/device`, token_endpoint: `${issuer}/token` }),
    device: ok(authorization),
    token: [400, json, JSON.stringify({ error: 'authorization_pending' })],
  };

  const polling = {
    'token-slowdown': polls === 0 ? [400, json, JSON.stringify({ error: 'slow_down' })] : valid.token,
  };

  if (name === 'fine')
    return valid;
  if (Object.hasOwn(polling, name))
    return { ...valid, device: ok({ ...authorization, expires_in: 30 }), token: polling[name] };
  if (Object.hasOwn(metadata, name))
    return { ...valid, metadata: metadata[name] };
  if ((kind === 'device' || kind === 'token') && Object.hasOwn(bad, what))
    return { ...valid, [kind]: bad[what] };
  return null;
}

const endpoints = { '.well-known/openid-configuration': 'metadata', device: 'device', token: 'token' };
// Case name → its requests, as [endpoint, milliseconds].
const requests = new Map();

const server = createServer({ cert: readFileSync(config.cert), key: readFileSync(config.key) }, (req, res) => {
  const match = /^\/([a-z0-9-]+)\/(.+)$/.exec(req.url);
  const { port } = server.address();
  const seen = (match && requests.get(match[1])) ?? [];
  const polls = seen.filter(([endpoint]) => endpoint === 'token').length;
  const found = match && answers(`https://127.0.0.1:${port}/${match[1]}`, match[1], polls);
  if (found && match[2] === 'requests') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(seen.map((line) => `${line.join(' ')}\n`).join(''));
    return;
  }
  const answer = found && Object.hasOwn(endpoints, match[2]) && found[endpoints[match[2]]];
  if (!answer) {
    res.writeHead(404).end();
    return;
  }
  requests.set(match[1], [...seen, [endpoints[match[2]], performance.now().toFixed(1)]]);
  if (typeof answer === 'function') {
    answer(res);
    return;
  }
  res.writeHead(answer[0], { 'Content-Type': answer[1] }).end(answer[2]);
});

server.listen(0, '127.0.0.1', () => {
  writeFileSync(`${config.portFile}.tmp`, `${server.address().port}\n`);
  renameSync(`${config.portFile}.tmp`, config.portFile);
});

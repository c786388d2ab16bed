// The EST server (RFC 7030) latchkey's tests enroll and renew against: none
// is packaged for Debian or npm. Small and strict, on loopback only.
//
//   node server.mjs CONFIG.json
//
// Started by tests/peers.sh (peers_start_est) or `tests/peer est DIR
// [MEMBERS]`, which make its PKI with certtool and print its facts. It
// listens on two free ports of 127.0.0.1 it picks itself:
//
// - HTTPS, the EST server, with the TLS certificate `cert`/`key` from a
//   test CA of its own (not the issuing CA: the daemon pins the EST
//   server's anchor separately, RFC 7030 §3.6). It asks every client for
//   a certificate and accepts connections without one.
//     GET  /.well-known/est[/LABEL]/cacerts
//          200, application/pkcs7-mime, base64: a certs-only SignedData
//          (no signers, no eContent) holding the issuing CA.
//     POST /.well-known/est[/LABEL]/simpleenroll
//          A base64 DER PKCS#10 request (application/pkcs10). The client is
//          a TLS certificate chaining to the bootstrap (factory) CA, or HTTP
//          Basic `user`:`password`; else 401 with a Basic challenge. The
//          request's self-signature must verify (400). 200, application/
//          pkcs7-mime; smime-type=certs-only, base64: the one certificate
//          issued for the request's key and subject (and subjectAltName),
//          clientAuth, valid for `lifetime` seconds from now.
//     POST /.well-known/est[/LABEL]/simplereenroll
//          The same, but the client is only the current certificate this CA
//          issued (the newest for its subject, unexpired), over TLS: anything
//          else is 403. The request's subject and subjectAltName must be the
//          certificate's (400). The key may be new.
//   LABEL ([A-Za-z0-9._~-]+) is accepted and recorded. Other paths are 404,
//   other methods 405, other request types 415. Error bodies are text/plain.
//
// - HTTP, the control endpoint, for tests only (JSON in and out):
//     GET  /switches   the switches now
//     POST /switches   sets the members given, e.g. {"down": true}, and
//                      answers once the server matches them; an unknown
//                      member or a bad value is 400 and changes nothing
//     GET  /log        { "issued": [ { serial (hex), subject, spkiSha256
//                        (hex SHA-256 of the issued certificate's DER
//                        SubjectPublicKeyInfo), csrSpkiSha256 (the
//                        request's), notBefore, notAfter, operation, label,
//                        auth } ],
//                        "requests": [ { time, method, path, operation,
//                        label, auth, status, detail (why, if refused),
//                        serial (of the certificate issued, if one was) } ] }
//                      auth is what the client proved: "basic",
//                      "bootstrap-cert", "cert" (one this CA issued), "none".
//
// Switches (members of CONFIG at start too):
//   down             the EST listener is closed (connections refused, open
//                    ones dropped); false reopens it on the same port
//   error500         every EST request is answered 500
//   malformedPkcs7   200 answers carry base64 of a truncated PKCS#7; nothing
//                    is issued
//   wrongKey         certificates are issued for a fresh key that is not
//                    the request's
//   retryAfter N, retryCount K
//                    the next K authenticated, well-formed enrollments are
//                    answered 202 with Retry-After: N (K is 1 if only N is
//                    set), the ones after are served
//   wrongServerCert  the EST listener presents `rogueCert` from a CA no
//                    client trusts (open connections are dropped)
//   lifetime         seconds the issued certificates are valid (3600)
//   startsIn         seconds from now the issued certificates start (0): a
//                    CA whose clock is ahead of the device's
//
// Other CONFIG members (paths are PEM files):
//   cert, key            the EST listener's TLS certificate and key
//   rogueCert, rogueKey  the one wrongServerCert presents
//   issuingCa, issuingCaKey  the CA that issues (P-256 key)
//   bootstrapCa          the factory CA whose certificates may enroll
//   user, password       HTTP Basic credentials ("latchkey-device", and a
//                        random password by default)
//   portFile             where the EST port is written once both listen
//   factsFile            where EST_CONTROL_URL, EST_USER and EST_PASSWORD
//                        are written (KEY=VALUE lines), before portFile
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import * as x509 from '@peculiar/x509';
import { IssuingCa } from './ca.mjs';
import { controlHandler } from './control.mjs';
import { estHandler } from './est.mjs';
import { DEFAULT_SWITCHES, checkSwitches, isSwitch } from './switches.mjs';

const PATHS = ['cert', 'key', 'rogueCert', 'rogueKey', 'issuingCa', 'issuingCaKey', 'bootstrapCa',
  'portFile', 'factsFile'];

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const read = (name) => readFileSync(config[name], 'utf8');
const startSwitches = {};
for (const [name, value] of Object.entries(config)) {
  if (isSwitch(name))
    startSwitches[name] = value;
  else if (!PATHS.includes(name) && name !== 'user' && name !== 'password')
    throw new Error(`config: unknown member ${name}`);
}
for (const name of PATHS) {
  if (typeof config[name] !== 'string')
    throw new Error(`config: ${name} must be a path`);
}

const state = {
  ca: await IssuingCa.load(read('issuingCa'), read('issuingCaKey')),
  bootstrapCa: new x509.X509Certificate(read('bootstrapCa')),
  user: config.user ?? 'latchkey-device',
  password: config.password ?? randomBytes(12).toString('hex'),
  switches: { ...DEFAULT_SWITCHES, ...checkSwitches(startSwitches) },
  issued: [],
  requests: [],
  current: new Map(),
};

// The trusted client CAs stay in every context: setSecureContext replaces
// all of it.
function tlsContext() {
  const rogue = state.switches.wrongServerCert;
  return {
    cert: read(rogue ? 'rogueCert' : 'cert'),
    key: read(rogue ? 'rogueKey' : 'key'),
    ca: [read('bootstrapCa'), read('issuingCa')],
  };
}

const est = createHttpsServer({ ...tlsContext(), requestCert: true, rejectUnauthorized: false },
  estHandler(state));
// Tracked so that `down` and `wrongServerCert` take effect on the very next
// request, not on whatever a client's kept-alive connection does.
const connections = new Set();
est.on('connection', (socket) => {
  connections.add(socket);
  socket.on('close', () => connections.delete(socket));
});

function dropConnections() {
  for (const socket of connections)
    socket.destroy();
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

function closeEst() {
  const closed = new Promise((resolve) => est.close(resolve));
  dropConnections();
  return closed;
}

// The EST port is below the kernel's ephemeral range (32768 up): while the
// server is `down`, no bind(0) caller, such as a client's connection or
// another test's peer, can be given it, and it can be reopened.
async function listenBelowEphemeral() {
  for (let tries = 0; ; tries++) {
    try {
      return await listen(est, 20000 + Math.floor(Math.random() * 12768));
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || tries === 50)
        throw err;
    }
  }
}

const estPort = await listenBelowEphemeral();
if (state.switches.down)
  await closeEst();

async function apply(changes) {
  const wasRogue = state.switches.wrongServerCert;
  Object.assign(state.switches, changes);
  if (state.switches.wrongServerCert !== wasRogue) {
    est.setSecureContext(tlsContext());
    dropConnections();
  }
  if (state.switches.down && est.listening)
    await closeEst();
  else if (!state.switches.down && !est.listening)
    await listen(est, estPort);
}

const control = createHttpServer(controlHandler(state, apply));
const controlPort = await listen(control, 0);

function writeAtomically(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}
writeAtomically(config.factsFile, [
  `EST_CONTROL_URL=http://127.0.0.1:${controlPort}`,
  `EST_USER=${state.user}`,
  `EST_PASSWORD=${state.password}`,
].join('\n') + '\n');
writeAtomically(config.portFile, `${estPort}\n`);

// The EST operations of RFC 7030 as a strict server answers them: GET
// /cacerts, POST /simpleenroll and POST /simplereenroll under
// /.well-known/est/ or /.well-known/est/LABEL/. What each request was and
// what was issued goes to STATE's records. Documented in server.mjs.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { basicCredentials, clientCertificate } from './auth.mjs';
import { aStrangersKey, spkiSha256 } from './ca.mjs';
import { base64Body, certsOnly } from './pkcs7.mjs';

const PATH = /^\/\.well-known\/est\/(?:([A-Za-z0-9._~-]+)\/)?([a-z]+)$/;
const METHODS = { cacerts: 'GET', simpleenroll: 'POST', simplereenroll: 'POST' };
// A CSR in base64 is a few KiB at most; anything much larger is not one.
const MAX_BODY = 64 * 1024;

const CERTIFICATE_WORDS = { 'bootstrap-cert': 'a factory certificate', cert: 'a certificate of this CA' };

const CACERTS_TYPE = 'application/pkcs7-mime';
const ENROLL_TYPE = 'application/pkcs7-mime; smime-type=certs-only';

// An answer other than 200, with a plain-text reason (RFC 7030 §4.2.3).
class Refusal extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export function estHandler(state) {
  return (req, res) => {
    const { pathname } = new URL(req.url, 'https://est.invalid');
    const match = PATH.exec(pathname);
    const record = {
      time: new Date().toISOString(),
      method: req.method,
      path: pathname,
      operation: match?.[2] ?? null,
      label: match?.[1] ?? null,
      auth: 'none',
    };
    state.requests.push(record);
    answer(state, req, record).then(({ status = 200, headers, body }) => {
      record.status = status;
      res.writeHead(status, headers).end(body);
    }, (err) => {
      if (!(err instanceof Refusal)) {
        console.error(err);
        err = new Refusal(500, `server error: ${err.message}`);
      }
      record.status = err.status;
      record.detail = err.message;
      res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=utf-8', ...err.headers })
        .end(`${err.message}\n`);
    });
  };
}

async function answer(state, req, record) {
  const { operation } = record;
  if (!(operation in METHODS))
    throw new Refusal(404, 'no such EST operation here');
  if (req.method !== METHODS[operation])
    throw new Refusal(405, `${operation} takes ${METHODS[operation]}`, { Allow: METHODS[operation] });
  const body = await readBody(req);
  const { switches } = state;
  if (switches.error500)
    throw new Refusal(500, 'internal server error (error500 switch)');
  if (operation === 'cacerts')
    return pkcs7Answer(state, CACERTS_TYPE, [state.ca.cert]);

  const who = await authenticate(state, req, operation, record);
  const csr = await parseCsr(req, body);
  if (operation === 'simplereenroll')
    checkSameIdentity(who.cert, csr);
  if (switches.retryAfter > 0 && switches.retryCount > 0) {
    switches.retryCount -= 1;
    record.detail = 'accepted, to be retried';
    return {
      status: 202,
      headers: { 'Retry-After': String(switches.retryAfter), 'Content-Type': 'text/plain; charset=utf-8' },
      body: `request accepted; retry after ${switches.retryAfter} s\n`,
    };
  }
  if (switches.malformedPkcs7) {
    record.detail = 'malformedPkcs7: nothing issued';
    return pkcs7Answer(state, ENROLL_TYPE, [state.ca.cert]);
  }

  const publicKey = switches.wrongKey ? await aStrangersKey() : csr.publicKey;
  const cert = await state.ca.issue({
    publicKey,
    subject: csr.subjectName,
    subjectAltName: csr.getExtension(x509.SubjectAlternativeNameExtension),
    lifetime: switches.lifetime,
    startsIn: switches.startsIn,
  });
  record.serial = cert.serialNumber.toLowerCase();
  state.issued.push({
    serial: record.serial,
    subject: cert.subject,
    spkiSha256: spkiSha256(cert.publicKey),
    csrSpkiSha256: spkiSha256(csr.publicKey),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    operation,
    label: record.label,
    auth: record.auth,
  });
  // The newest certificate of a subject is its current one: only that one
  // may re-enroll (RFC 7030 §4.2.2 renews "the current certificate").
  state.current.set(subjectKey(cert.subjectName), record.serial);
  return pkcs7Answer(state, ENROLL_TYPE, [cert]);
}

// pkcs7Answer(STATE, TYPE, CERTS): the certs-only answer, or under the
// malformedPkcs7 switch its first half, which base64 decoders take and
// PKCS#7 parsers refuse.
function pkcs7Answer(state, type, certs) {
  let der = certsOnly(certs);
  if (state.switches.malformedPkcs7)
    der = der.subarray(0, der.length >> 1);
  return {
    headers: { 'Content-Type': type, 'Content-Transfer-Encoding': 'base64' },
    body: base64Body(der),
  };
}

// authenticate(): the client's proof for OPERATION, recorded in RECORD.auth
// whether or not it is enough; throws the refusal when it is not.
//   simpleenroll:   a factory certificate or the Basic password.
//   simplereenroll: the current certificate this CA issued, nothing else
//     (RFC 7030 §4.2.2). Other proofs get 403, not 401: 401 asks for HTTP
//     credentials (RFC 9110 §15.5.2), and no HTTP credential can make a
//     re-enrollment acceptable.
async function authenticate(state, req, operation, record) {
  const tls = await clientCertificate(req.socket, { bootstrapCa: state.bootstrapCa, issuingCa: state.ca.cert });
  const basic = basicCredentials(req, state.user, state.password);
  const why = tls.detail ?? CERTIFICATE_WORDS[tls.kind];
  if (operation === 'simpleenroll') {
    if (tls.kind === 'bootstrap-cert') {
      record.auth = tls.kind;
      return tls;
    }
    if (basic === 'ok') {
      record.auth = 'basic';
      return {};
    }
    throw new Refusal(401, `simpleenroll needs a factory certificate or the password (${why}; password ${basic})`,
      { 'WWW-Authenticate': 'Basic realm="est", charset="UTF-8"' });
  }
  if (tls.kind === 'cert') {
    record.auth = tls.kind;
    const serial = tls.cert.serialNumber.toLowerCase();
    if (state.current.get(subjectKey(tls.cert.subjectName)) !== serial)
      throw new Refusal(403, `certificate ${serial} was replaced by a newer one for its subject`);
    return tls;
  }
  if (basic === 'ok')
    record.auth = 'basic';
  else if (tls.kind === 'bootstrap-cert')
    record.auth = tls.kind;
  throw new Refusal(403, `simplereenroll needs the current certificate this CA issued (${why}; password ${basic})`);
}

// parseCsr(REQ, BODY): the PKCS#10 request in BODY, its self-signature
// checked: the proof that the client holds the key (RFC 7030 §3.4).
async function parseCsr(req, body) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/pkcs10')
    throw new Refusal(415, 'the request must be application/pkcs10');
  // RFC 8951 §3.2: the body is base64 whatever Content-Transfer-Encoding
  // says. Node's decoder skips what is not base64, so check first.
  const text = body.toString('latin1').replace(/[\r\n\t ]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) || text === '')
    throw new Refusal(400, 'the request body is not base64');
  let csr;
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(text, 'base64'));
  } catch (err) {
    throw new Refusal(400, `the request body is not a PKCS#10 request: ${err.message}`);
  }
  // verify() throws on algorithms it does not know: no proof either.
  if (!await csr.verify().catch(() => false))
    throw new Refusal(400, 'the request\'s signature does not verify with its key (no proof of possession)');
  return csr;
}

// checkSameIdentity(CERT, CSR): RFC 7030 §4.2.2: a re-enrollment's Subject
// and SubjectAltName must be those of the certificate being renewed.
function checkSameIdentity(cert, csr) {
  if (subjectKey(cert.subjectName) !== subjectKey(csr.subjectName))
    throw new Refusal(400, `the request's subject is not the certificate's (${cert.subject})`);
  if (subjectAltNameKey(cert) !== subjectAltNameKey(csr))
    throw new Refusal(400, 'the request\'s subjectAltName is not the certificate\'s');
}

function subjectAltNameKey(holder) {
  const extension = holder.getExtension(x509.SubjectAlternativeNameExtension);
  return extension ? Buffer.from(extension.value).toString('hex') : '';
}

function subjectKey(name) {
  return Buffer.from(name.toArrayBuffer()).toString('hex');
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new Refusal(413, `request bodies stop at ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

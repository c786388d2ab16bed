// Who an EST request comes from: a TLS client certificate (RFC 7030 §3.3.2)
// or HTTP Basic credentials (§3.2.3).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// clientCertificate(SOCKET, { bootstrapCa, issuingCa }): what the TLS
// client proved with its certificate:
//   { kind: 'bootstrap-cert', cert }  one issued by the factory CA
//   { kind: 'cert', cert }            one issued by the issuing CA
//   { kind: 'none', detail }          no certificate, or one refused
// The handshake already proved the client holds the certificate's key;
// OpenSSL checked the chain, dates and purpose (SOCKET.authorized); the
// dates are checked again here because a kept-alive connection can outlive
// a short-lived certificate.
export async function clientCertificate(socket, { bootstrapCa, issuingCa }) {
  const peer = socket.getPeerCertificate();
  if (!peer?.raw)
    return { kind: 'none', detail: 'no client certificate' };
  if (!socket.authorized)
    return { kind: 'none', detail: `client certificate refused: ${socket.authorizationError}` };
  const cert = new x509.X509Certificate(peer.raw);
  for (const [kind, ca] of [['bootstrap-cert', bootstrapCa], ['cert', issuingCa]]) {
    if (await cert.verify({ publicKey: ca.publicKey, date: new Date() }))
      return { kind, cert };
  }
  return { kind: 'none', detail: 'client certificate expired or not issued by a CA of this server' };
}

// basicCredentials(REQ, USER, PASSWORD): 'absent', 'ok' or 'wrong'.
export function basicCredentials(req, user, password) {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(req.headers.authorization ?? '');
  if (!match)
    return 'absent';
  return Buffer.from(match[1], 'base64').toString('utf8') === `${user}:${password}` ? 'ok' : 'wrong';
}

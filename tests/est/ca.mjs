// The issuing CA of the EST test server: its certificate and P-256 key are
// made by certtool (tests/peers.sh); this signs the certificates it issues.
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

// spkiSha256(PUBLICKEY): hex SHA-256 of a public key's DER
// SubjectPublicKeyInfo, what tests compute with `openssl pkey -pubin
// -outform DER | sha256sum` to tell keys apart.
export function spkiSha256(publicKey) {
  return createHash('sha256').update(Buffer.from(publicKey.rawData)).digest('hex');
}

export class IssuingCa {
  static async load(certPem, keyPem) {
    // certtool writes the key as SEC1 or PKCS#8 depending on its version;
    // Node reads either and WebCrypto takes PKCS#8.
    const pkcs8 = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, P256, false, ['sign']);
    return new IssuingCa(new x509.X509Certificate(certPem), key);
  }

  constructor(cert, key) {
    this.cert = cert;
    this.key = key;
  }

  // issue({ publicKey, subject, subjectAltName, lifetime, startsIn }): a
  // TLS client certificate for PUBLICKEY (an x509.PublicKey) naming SUBJECT
  // (an x509.Name), valid for LIFETIME seconds from STARTSIN seconds from
  // now, to the second: short lifetimes are what renewal tests run on. SUBJECTALTNAME, the CSR's
  // requested extension or null, is copied as is, so that a re-enrollment
  // can be checked against it (RFC 7030 §4.2.2).
  async issue({ publicKey, subject, subjectAltName, lifetime, startsIn }) {
    const notBefore = new Date((Math.floor(Date.now() / 1000) + startsIn) * 1000);
    const notAfter = new Date(notBefore.getTime() + lifetime * 1000);
    // 16 random bytes, positive and of fixed length (RFC 5280 §4.1.2.2).
    const serial = randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    const extensions = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      // The CA's own key identifier, not one recomputed by another method.
      new x509.AuthorityKeyIdentifierExtension(
        this.cert.getExtension(x509.SubjectKeyIdentifierExtension).keyId),
    ];
    if (subjectAltName)
      extensions.push(subjectAltName);
    return x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      subject,
      issuer: this.cert.subjectName,
      notBefore,
      notAfter,
      publicKey,
      signingKey: this.key,
      signingAlgorithm: ECDSA_SHA256,
      extensions,
    });
  }
}

// aStrangersKey(): the public key of a fresh P-256 pair whose private half
// is thrown away, for the wrongKey switch.
export async function aStrangersKey() {
  const pair = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  return x509.PublicKey.create(pair.publicKey);
}

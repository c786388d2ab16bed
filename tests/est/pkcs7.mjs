// The bodies EST answers with: a certs-only CMS SignedData (RFC 7030 §4.1.3,
// §4.2.3; RFC 5751 §3.8), base64 in lines as MIME wants them.
import { ContentInfo, CertificateChoices, CertificateSet, SignedData, id_data, id_signedData }
  from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';

// certsOnly(CERTS): the DER of a SignedData with no signers carrying CERTS
// (X509Certificate objects of @peculiar/x509). Built here rather than with
// X509Certificates.export(), which adds an empty eContent: RFC 5652 §5.2
// says the degenerate case MUST omit it, and a strict server should not
// teach the daemon to expect it.
export function certsOnly(certs) {
  const signedData = new SignedData({
    version: 1,
    certificates: new CertificateSet(certs.map((cert) => new CertificateChoices({
      certificate: AsnConvert.parse(cert.rawData, Certificate),
    }))),
  });
  signedData.encapContentInfo.eContentType = id_data;
  const contentInfo = new ContentInfo({
    contentType: id_signedData,
    content: AsnConvert.serialize(signedData),
  });
  return Buffer.from(AsnConvert.serialize(contentInfo));
}

// base64Body(DER): DER as base64 in 64-character lines: RFC 2045 caps lines
// at 76, and line-oriented decoders (openssl base64) reject longer ones.
export function base64Body(der) {
  return `${der.toString('base64').match(/.{1,64}/g).join('\n')}\n`;
}

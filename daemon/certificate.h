/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>

/*
 * X.509 for enrollment, all through GnuTLS: the device's certificate chain
 * as the daemon shows it, the PKCS#10 request for a new key, and the check
 * of what a CA issued before it is kept.
 */

typedef struct {
  char *subject;        /* RFC 4514 */
  char *issuer;
  char *serial;         /* hex, lower case */
  gint64 not_before;    /* unix seconds */
  gint64 not_after;
  GBytes *leaf_der;
  GBytes *spki_der;     /* the leaf's SubjectPublicKeyInfo */
  char *chain_pem;      /* leaf first, then its CA certificates */
} LkCertificate;

/* How far ahead of this device's clock an issued certificate may start, in seconds. */
#define LK_CERTIFICATE_CLOCK_SLACK 300

void lk_certificate_free (LkCertificate *cert);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkCertificate, lk_certificate_free)

/* A PEM chain, leaf first; @what names it in errors. */
LkCertificate *lk_certificate_from_pem (const char *pem, gsize length, const char *what, GError **error);

/* A PKCS#10 request (DER) for @key, whose public key is @spki_der, and @subject (RFC 4514), signed by @key. */
GBytes *lk_certificate_request_new (gnutls_privkey_t key, GBytes *spki_der, const char *subject, GError **error);

/*
 * Checks what the CA answered (@issued, DER GBytes) before anything is
 * kept: one certificate is for the public key @spki_der (LK_ERROR_PROTOCOL
 * otherwise: the server issued for another key), it chains to one of
 * @ca_certs (DER GBytes from /cacerts), and it is valid at @now, or
 * starts at most LK_CERTIFICATE_CLOCK_SLACK seconds later. Returns it with
 * @ca_certs as its chain.
 */
LkCertificate *lk_certificate_check_issued (GPtrArray *issued,
                                            GPtrArray *ca_certs,
                                            GBytes *spki_der,
                                            gint64 now,
                                            GError **error);

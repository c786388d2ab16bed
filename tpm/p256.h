/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/gnutls.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The forms X.509 and JOSE give an ECDSA P-256 key and its signatures,
 * whichever backend holds the key. */

#define LK_TPM_P256_COORD_SIZE 32

/**
 * LkTpmSignatureFormat:
 * @LK_TPM_SIGNATURE_DER: an X.509 `ECDSA-Sig-Value` (TLS, CSRs)
 * @LK_TPM_SIGNATURE_RAW: r || s, 32 bytes each (JWS ES256)
 */
typedef enum {
  LK_TPM_SIGNATURE_DER,
  LK_TPM_SIGNATURE_RAW,
} LkTpmSignatureFormat;

/* A public key: its point, each coordinate big-endian and zero-padded. */
typedef struct {
  guint8 x[LK_TPM_P256_COORD_SIZE];
  guint8 y[LK_TPM_P256_COORD_SIZE];
} LkTpmP256Point;

gboolean    lk_tpm_p256_point_set           (LkTpmP256Point        *point,
                                             const guint8          *x,
                                             gsize                  x_len,
                                             const guint8          *y,
                                             gsize                  y_len);
gboolean    lk_tpm_p256_export_public       (const LkTpmP256Point  *point,
                                             gnutls_x509_crt_fmt_t  format,
                                             gnutls_datum_t        *out,
                                             GError               **error);
GBytes     *lk_tpm_p256_get_public_der      (const LkTpmP256Point  *point,
                                             GError               **error);
JsonObject *lk_tpm_p256_get_jwk             (const LkTpmP256Point  *point);
char       *lk_tpm_p256_get_jwk_thumbprint  (const LkTpmP256Point  *point,
                                             GError               **error);

/* RFC 7515 §2: base64url without padding, as JOSE writes every binary value. */
char       *lk_tpm_base64url_encode         (const guint8          *data,
                                             gsize                  len);

GBytes     *lk_tpm_p256_signature_new       (const guint8          *r,
                                             gsize                  r_len,
                                             const guint8          *s,
                                             gsize                  s_len,
                                             LkTpmSignatureFormat   format,
                                             GError               **error);

G_END_DECLS

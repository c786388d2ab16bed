/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Every latchkey sealed blob is an AES-256-GCM envelope:
 *   magic (4) | version (1) | rest of header | nonce (12) | ciphertext | tag (16)
 * The magic names who can open it (the TPM, a software keystore), the rest
 * of the header what protects the key. Header and nonce are the associated
 * data, so no part of the blob can be swapped or altered unnoticed. */
#define LK_TPM_ENVELOPE_KEY_SIZE 32
#define LK_TPM_ENVELOPE_NONCE_SIZE 12
#define LK_TPM_ENVELOPE_TAG_SIZE 16

gboolean lk_tpm_envelope_check_prefix (const guint8  *blob,
                                       gsize          blob_len,
                                       const char    *magic,
                                       guint8         max_version,
                                       guint8        *ret_version,
                                       GError       **error);
GBytes  *lk_tpm_envelope_seal         (const guint8  *key,
                                       const guint8  *header,
                                       gsize          header_len,
                                       GBytes        *secret,
                                       GError       **error);
GBytes  *lk_tpm_envelope_open         (const guint8  *key,
                                       const guint8  *blob,
                                       gsize          blob_len,
                                       gsize          header_len,
                                       GError       **error);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <gnutls/abstract.h>

#include "tpm/key.h"

G_BEGIN_DECLS

/* URLs handed to GnuTLS users that only take URLs (glib-networking):
 * "latchkey-tpm:NAME;type=private" and "latchkey-tpm:NAME;type=cert". */
#define LK_TPM_GNUTLS_URL_SCHEME "latchkey-tpm:"

gnutls_privkey_t lk_tpm_gnutls_privkey_new         (LkTpmKey     *key,
                                                    GError      **error);

gboolean         lk_tpm_gnutls_register_url_scheme (GError      **error);
gboolean         lk_tpm_gnutls_publish             (const char   *name,
                                                    LkTpmKey     *key,
                                                    GBytes       *cert_der,
                                                    GError      **error);
void             lk_tpm_gnutls_withdraw            (const char   *name);
char            *lk_tpm_gnutls_key_url             (const char   *name);
char            *lk_tpm_gnutls_cert_url            (const char   *name);

G_END_DECLS

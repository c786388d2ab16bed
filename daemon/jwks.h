/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gnutls/abstract.h>
#include <json-glib/json-glib.h>

#include "http.h"

/*
 * The signing keys of an OpenID provider: its JWK Set (RFC 7517), read
 * from jwks_uri and kept. Elliptic curve P-256 and RSA keys are
 * understood; keys for encryption ("use": "enc") and of other types are
 * skipped. Keys become GnuTLS public keys: latchkey verifies, GnuTLS does
 * the cryptography.
 */
typedef struct _LkJwks LkJwks;

LkJwks *lk_jwks_new (void);
void lk_jwks_free (LkJwks *jwks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkJwks, lk_jwks_free)

/* Replaces the keys with those of the JWK Set @set; fails when it is not one. */
gboolean lk_jwks_load (LkJwks *self, JsonObject *set, GError **error);

/*
 * The key @kid of type @kty ("EC", "RSA"), or with @kid NULL the only key
 * of that type. NULL when there is none: fetch the set again.
 */
gnutls_pubkey_t lk_jwks_lookup (LkJwks *self, const char *kid, const char *kty);

/* How many keys are kept. */
guint lk_jwks_count (LkJwks *self);

/* Fetches the JWK Set at @uri into @self. */
void lk_jwks_fetch_async (LkJwks *self,
                          LkHttp *http,
                          const char *uri,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data);
gboolean lk_jwks_fetch_finish (LkJwks *self, GAsyncResult *result, GError **error);

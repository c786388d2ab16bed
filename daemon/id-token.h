/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "jwks.h"

/*
 * OpenID Connect ID tokens (Core §3.1.3.7), checked before anyone is
 * logged in by one: the signature by a key of the provider's JWK Set
 * (ES256 or RS256; anything else, "none" first, is refused), then the
 * issuer, the audience (and the authorized party when there are several
 * audiences), the expiry and the issue time, within a bounded clock skew.
 */

typedef struct {
  const char *issuer;
  const char *client_id;
  gint64 now;           /* unix seconds */
  guint clock_skew;     /* seconds either way */
} LkIdTokenCheck;

/* A compact JWS split and decoded, not yet verified. */
typedef struct _LkJwt LkJwt;

LkJwt *lk_jwt_parse (const char *compact, GError **error);
void lk_jwt_free (LkJwt *jwt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkJwt, lk_jwt_free)

/* The header's kid, NULL when it has none. */
const char *lk_jwt_get_kid (LkJwt *jwt);

/*
 * Whether @jwks holds the key that signed @jwt: when it does not, the
 * provider may have rotated its keys, and the set is worth fetching again.
 */
gboolean lk_jwt_key_known (LkJwt *jwt, LkJwks *jwks);

/*
 * Verifies @jwt as an ID token for @check and returns its claims.
 * Failures are LK_ERROR_PROTOCOL, saying what is wrong and never quoting
 * the token.
 */
JsonObject *lk_id_token_verify (LkJwt *jwt, LkJwks *jwks, const LkIdTokenCheck *check, GError **error);

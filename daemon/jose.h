/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "tpm/keystore.h"

/*
 * Compact JWS (RFC 7515) signed by the device key, for the JWTs latchkey
 * presents: client assertions (RFC 7523) and DPoP proofs (RFC 9449). The
 * key never leaves the key store: only the SHA-256 of the signing input is
 * handed to it.
 */

/*
 * Signs @claims with the device key. @header carries what the JWT's type
 * needs (typ, jwk, kid); its "alg" is set from the key.
 */
char *lk_jose_sign (LkKeystore *keystore, JsonObject *header, JsonObject *claims, GError **error);

/* A fresh 128-bit random identifier, base64url: a "jti" no one can guess or repeat. */
char *lk_jose_random_id (void);

/* base64url of the SHA-256 of @text: DPoP's "ath" (RFC 9449 §4.2). */
char *lk_jose_sha256_base64url (const char *text);

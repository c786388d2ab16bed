/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tpm/keystore.h"

/*
 * DPoP proofs (RFC 9449): a JWT signed by the device key for one HTTP
 * request, binding the tokens it obtains or uses to that key. Only the
 * key store holds the key, so a token copied off the device is useless.
 */

/*
 * A proof for @method @url (its query and fragment are dropped, §4.2),
 * carrying the server's @nonce when it gave one and, when the request
 * presents @access_token, its hash (ath). Both may be NULL.
 */
char *lk_dpop_proof_new (LkKeystore *keystore,
                         const char *method,
                         const char *url,
                         const char *nonce,
                         const char *access_token,
                         GError **error);

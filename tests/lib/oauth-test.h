/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "oauth-client.h"
#include "testlib.h"

/*
 * For tests of the OAuth code below the daemon: the device's key store on
 * the test's swtpm, and a client of a test OpenID provider.
 */

/* The tpm2 key store in the test's state dir, with its device key. */
LkKeystore *lk_test_keystore (void);

/* A client of @provider's issuer, trusting its CA. */
LkOAuthClient *lk_test_oauth_client (LkTestPeer *provider,
                                     LkKeystore *keystore,
                                     const char *client_id,
                                     LkClientAuth client_auth,
                                     LkDPoPMode dpop);

/*
 * The provider's client list: the public device client (LK_TEST_CLIENT_ID),
 * a confidential resource server allowed to introspect any token, and,
 * when @jwk is not NULL, LK_TEST_JWT_CLIENT_ID, authenticating with
 * private_key_jwt by that key, registered under the key id @kid.
 */
#define LK_TEST_JWT_CLIENT_ID "latchkey-test-jwt"
char *lk_test_clients_json (JsonObject *jwk, const char *kid);

/* What @provider's introspection endpoint (RFC 7662) says of @token, as a resource server. */
JsonObject *lk_test_introspect (LkTestPeer *provider, const char *token);

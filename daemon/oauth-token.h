/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "oauth-client.h"

/*
 * The token endpoint (RFC 6749 §5) and the revocation endpoint (RFC 7009):
 * what every grant type shares. Tokens are secrets: they are wiped when
 * freed and never appear in an error message.
 */

typedef struct {
  char *access_token;    /* secret */
  char *refresh_token;   /* secret; NULL when none was issued */
  char *id_token;        /* NULL when none was issued */
  char *token_type;      /* "Bearer", or "DPoP" for a token bound to the device key */
  char *scope;           /* NULL when the server did not say */
  guint expires_in;      /* seconds; 0 when the server did not say */
} LkTokenResponse;

void lk_token_response_free (LkTokenResponse *tokens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTokenResponse, lk_token_response_free)

/* Posts the token request @form (grant_type and its parameters). */
void lk_oauth_token_request_async (LkOAuthClient *client,
                                   GPtrArray *form,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
/*
 * The tokens, or NULL: LK_ERROR_NETWORK when the server could not be
 * reached or had a server error (5xx), else LK_ERROR_PROTOCOL. When the server answered with an OAuth
 * error, @ret_error_code (nullable) receives its code (RFC 6749 §5.2), for
 * the grant type to interpret.
 */
LkTokenResponse *lk_oauth_token_request_finish (GAsyncResult *result, char **ret_error_code, GError **error);

/* Revokes @refresh_token at the server (RFC 7009). */
void lk_oauth_revoke_async (LkOAuthClient *client,
                            const char *refresh_token,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
gboolean lk_oauth_revoke_finish (GAsyncResult *result, GError **error);

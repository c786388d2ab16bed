/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "http.h"

/*
 * What latchkey needs to know of an authorization server, learnt from its
 * metadata (RFC 8414 /.well-known/oauth-authorization-server, else OpenID
 * Connect discovery). The document's issuer must be exactly the configured
 * one, and every endpoint must be https: anything else is refused.
 */
typedef struct {
  char *issuer;
  char *device_authorization_endpoint;
  char *token_endpoint;
  char *revocation_endpoint;   /* NULL when the server has none */
  char *userinfo_endpoint;     /* NULL when the server has none */
  char *jwks_uri;              /* NULL when the server has none */
  GStrv dpop_signing_alg_values_supported;  /* NULL when the server has no DPoP */
} LkOAuthServer;

void lk_oauth_server_free (LkOAuthServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkOAuthServer, lk_oauth_server_free)

void lk_oauth_discover_async (LkHttp *http,
                              const char *issuer,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
LkOAuthServer *lk_oauth_discover_finish (GAsyncResult *result, GError **error);

/* The RFC 8414 and OpenID Connect metadata URLs of @issuer, in the order they are tried. */
gboolean lk_oauth_discovery_urls (const char *issuer, char **ret_rfc8414, char **ret_openid, GError **error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "http.h"
#include "oauth-discovery.h"
#include "tpm/keystore.h"

/*
 * The device as an OAuth client of one authorization server: everything
 * every request to it shares. It learns the server's metadata on first
 * use, authenticates the client on each request (RFC 6749 §2.3), and adds
 * a DPoP proof (RFC 9449) to token requests when they are to be bound to
 * the device key, answering a server's use_dpop_nonce once with the nonce
 * it asked for. The last nonce each server gave is remembered.
 */

typedef enum {
  LK_CLIENT_AUTH_NONE,             /* a public client: client_id only */
  LK_CLIENT_AUTH_PRIVATE_KEY_JWT,  /* RFC 7523 assertions signed by the device key */
} LkClientAuth;

typedef enum {
  LK_DPOP_AUTO,    /* when the server's metadata lists the device key's algorithm */
  LK_DPOP_ALWAYS,
  LK_DPOP_NEVER,
} LkDPoPMode;

typedef struct {
  const char *issuer;
  const char *client_id;
  const char *trust_anchors;   /* PEM file; NULL: the system's CA store */
  LkClientAuth client_auth;
  LkDPoPMode dpop;
} LkOAuthClientConfig;

typedef enum {
  LK_OAUTH_DEVICE_AUTHORIZATION_ENDPOINT,
  LK_OAUTH_TOKEN_ENDPOINT,
  LK_OAUTH_REVOCATION_ENDPOINT,
} LkOAuthEndpoint;

#define LK_TYPE_OAUTH_CLIENT (lk_oauth_client_get_type ())
G_DECLARE_FINAL_TYPE (LkOAuthClient, lk_oauth_client, LK, OAUTH_CLIENT, GObject)

/* @keystore signs client assertions and DPoP proofs; it is kept. */
LkOAuthClient *lk_oauth_client_new (const LkOAuthClientConfig *config, LkKeystore *keystore, GError **error);

const char *lk_oauth_client_get_issuer (LkOAuthClient *self);

/* The server's metadata, once a request has learnt it; NULL before. */
const LkOAuthServer *lk_oauth_client_get_server (LkOAuthClient *self);

/* Whether token requests carry DPoP proofs; known once the server is. */
gboolean lk_oauth_client_uses_dpop (LkOAuthClient *self);

/*
 * A form to post: parameter names are static strings, values are copied
 * and wiped when the form is freed, since they are often secrets.
 */
GPtrArray *lk_oauth_form_new (void);
/* Adds @name=@value; a NULL @value adds nothing. */
void lk_oauth_form_add (GPtrArray *form, const char *name, const char *value);

/*
 * Posts @form to @endpoint with the client's authentication (and a DPoP
 * proof for the token endpoint, when used). The answer is returned
 * whatever its HTTP status; transport failures are LK_ERROR_NETWORK, a
 * server without such an endpoint LK_ERROR_PROTOCOL.
 */
void lk_oauth_client_post_async (LkOAuthClient *self,
                                 LkOAuthEndpoint endpoint,
                                 GPtrArray *form,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
LkHttpResponse *lk_oauth_client_post_finish (LkOAuthClient *self, GAsyncResult *result, GError **error);

/*
 * The RFC 6749 §5.2 error code of an error response, or NULL when it has
 * none that is well formed. Only the code is ever kept: the description is
 * the server's free text and could echo a secret back.
 */
const char *lk_oauth_error_code (JsonObject *object);

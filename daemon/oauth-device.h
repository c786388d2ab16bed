/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "oauth-token.h"

/*
 * The two requests of the OAuth 2.0 Device Authorization Grant (RFC 8628):
 * asking for a device code, and polling the token endpoint with it. The
 * pairing state machine decides when to poll; these only speak HTTP.
 *
 * Device codes are secrets: they are wiped when freed and never appear in
 * an error message.
 */

typedef struct {
  char *device_code;                 /* secret */
  char *user_code;
  char *verification_uri;
  char *verification_uri_complete;   /* NULL when the server sends none */
  guint expires_in;                  /* seconds */
  guint interval;                    /* seconds; 0 when the server sends none (§3.2: then 5) */
} LkDeviceAuthorization;

void lk_device_authorization_free (LkDeviceAuthorization *authorization);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkDeviceAuthorization, lk_device_authorization_free)

/* Asks for a code for @scope and, when not NULL, the APIs @resources (RFC 8707). */
void lk_oauth_device_authorize_async (LkOAuthClient *client,
                                      const char *scope,
                                      const char *const *resources,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
LkDeviceAuthorization *lk_oauth_device_authorize_finish (GAsyncResult *result, GError **error);

typedef enum {
  LK_DEVICE_POLL_GRANTED,
  LK_DEVICE_POLL_PENDING,     /* authorization_pending: poll again */
  LK_DEVICE_POLL_SLOW_DOWN,   /* slow_down: poll again, LK_DEVICE_SLOW_DOWN_STEP s slower */
} LkDevicePoll;

/* RFC 8628 §3.5: slow_down adds 5 seconds for the rest of the session. */
#define LK_DEVICE_SLOW_DOWN_STEP 5

void lk_oauth_device_poll_async (LkOAuthClient *client,
                                 const LkDeviceAuthorization *authorization,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
/*
 * The outcome of one poll. Returns FALSE with LK_ERROR_DENIED
 * (access_denied), LK_ERROR_EXPIRED (expired_token), LK_ERROR_NETWORK
 * (worth retrying) or LK_ERROR_PROTOCOL (anything else); on
 * LK_DEVICE_POLL_GRANTED, @ret_tokens holds the tokens.
 */
gboolean lk_oauth_device_poll_finish (GAsyncResult *result,
                                      LkDevicePoll *ret_poll,
                                      LkTokenResponse **ret_tokens,
                                      GError **error);

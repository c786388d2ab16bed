/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "grant.h"
#include "oauth-token.h"

/*
 * Keeps the owner's grant alive once the device is paired.
 *
 * Every use of the refresh token goes through one queue, one request at a
 * time: with rotation, each use replaces the refresh token, and two uses
 * in flight look like a replay that makes the server revoke the grant. A
 * rotated refresh token is sealed to the state dir before the tokens that
 * came with it are handed out, so a crash never leaves the device holding
 * only a spent one.
 *
 * In the background the owner's access token is refreshed a margin before
 * it expires (less a random jitter, so that a fleet does not refresh at
 * once); failures are retried with capped exponential backoff. When the
 * server answers invalid_grant, the owner or the server has revoked the
 * device: "revoked" is emitted and the keeper does nothing more.
 */

#define LK_TYPE_GRANT_KEEPER (lk_grant_keeper_get_type ())
G_DECLARE_FINAL_TYPE (LkGrantKeeper, lk_grant_keeper, LK, GRANT_KEEPER, GObject)

/*
 * Takes @grant; keeps @client and @keystore. @refresh_margin: seconds
 * before expiry at which the owner's access token is refreshed.
 */
LkGrantKeeper *lk_grant_keeper_new (LkOAuthClient *client,
                                    LkKeystore *keystore,
                                    const char *state_dir,
                                    LkGrant *grant,
                                    guint refresh_margin);

/*
 * Starts the background refresh. @tokens (nullable) are the pairing's
 * fresh ones; without them (a daemon restart) the first refresh is now.
 */
void lk_grant_keeper_start (LkGrantKeeper *self, const LkTokenResponse *tokens);

/* Cancels everything under way; queued requests fail with LK_ERROR_CANCELLED. */
void lk_grant_keeper_stop (LkGrantKeeper *self);

const LkGrant *lk_grant_keeper_get_grant (LkGrantKeeper *self);

/* When the owner's access token expires (unix seconds); 0 while there is none. */
gint64 lk_grant_keeper_get_expires_at (LkGrantKeeper *self);

/*
 * Tokens from the refresh token, in the queue: narrowed to @scope and
 * @resource (RFC 6749 §6, RFC 8707) when they are not NULL. Fails with
 * LK_ERROR_REVOKED once the grant is gone.
 */
void lk_grant_keeper_refresh_async (LkGrantKeeper *self,
                                    const char *scope,
                                    const char *resource,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
LkTokenResponse *lk_grant_keeper_refresh_finish (LkGrantKeeper *self, GAsyncResult *result, GError **error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "daemon-config.h"
#include "grant.h"
#include "oauth-client.h"

/*
 * Console logins (pam_latchkey): for each, an OpenID Connect device
 * authorization of its own at the pairing's provider, whose ID token,
 * once verified (daemon/id-token.c), names who approved; [Login] in the
 * configuration says whether that identity may log in as the local user
 * asked for. The paired owner has the owner role: they may log in as the
 * users of OwnerUsers. Failed logins lock a user out for a while.
 *
 * Each login belongs to the bus connection that began it: only that one
 * may wait for it or cancel it, and its leaving cancels it.
 */

typedef struct _LkLogins LkLogins;

/* The owner's grant, NULL while the device is not paired. */
typedef const LkGrant *(*LkLoginsGrantFunc) (gpointer user_data);

/* @config and @client must outlive the logins; @client is shared with pairing. */
LkLogins *lk_logins_new (const LkConfig *config,
                         LkOAuthClient *client,
                         LkLoginsGrantFunc get_grant,
                         gpointer user_data,
                         GError **error);
void lk_logins_free (LkLogins *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkLogins, lk_logins_free)

/* What the login prompt shows. */
typedef struct {
  char *id;
  char *verification_uri;
  char *verification_uri_complete;   /* the URI with the code in it, for the QR code */
  char *user_code;
  gint64 expires_at;                 /* unix seconds */
} LkLoginCode;

void lk_login_code_free (LkLoginCode *code);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkLoginCode, lk_login_code_free)

/*
 * Begins a login as @user for @owner (a unique bus name). Fails with
 * LK_ERROR_NOT_PAIRED, LK_ERROR_LOCKED_OUT, LK_ERROR_NOT_ALLOWED (no one
 * may log in as @user), LK_ERROR_BUSY (a login for @user is under way) or
 * the provider's error.
 */
void lk_logins_begin_async (LkLogins *self,
                            const char *user,
                            const char *service,
                            const char *tty,
                            const char *owner,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
LkLoginCode *lk_logins_begin_finish (GAsyncResult *result, GError **error);

/*
 * Completes when login @id is decided: the identity that logged in, or
 * LK_ERROR_DENIED, LK_ERROR_EXPIRED, LK_ERROR_NOT_ALLOWED,
 * LK_ERROR_CANCELLED, LK_ERROR_PROTOCOL (an ID token not to be trusted).
 */
void lk_logins_wait_async (LkLogins *self,
                           const char *id,
                           const char *owner,
                           GAsyncReadyCallback callback,
                           gpointer user_data);
char *lk_logins_wait_finish (GAsyncResult *result, GError **error);

gboolean lk_logins_cancel (LkLogins *self, const char *id, const char *owner, GError **error);

/* Cancels the logins of @owner, which left the bus. */
void lk_logins_forget_owner (LkLogins *self, const char *owner);

/*
 * The account check after login @id as @user: it was approved, the device
 * is still paired (to the same owner, when the owner role let them in),
 * the identity is still allowed and @user is not locked out.
 */
gboolean lk_logins_check_account (LkLogins *self, const char *user, const char *id, GError **error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "daemon-config.h"
#include "enrollment.h"
#include "grant.h"
#include "login.h"
#include "tokens.h"
#include "pairing.h"

/* What the device has become so far, as the Device.State property says. */
typedef enum {
  LK_DEVICE_STATE_UNPROVISIONED,
  LK_DEVICE_STATE_PAIRED,
} LkDeviceState;

const char *lk_device_state_to_string (LkDeviceState state);

typedef struct _LkDaemon LkDaemon;

/* Takes @config. */
LkDaemon *lk_daemon_new (LkConfig *config, const char *state_dir);
void lk_daemon_free (LkDaemon *daemon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkDaemon, lk_daemon_free)

/*
 * Opens the configured key backend and loads the device key, creating it
 * at first start. Called before lk_daemon_start(): a daemon without a
 * usable key backend does not serve.
 */
gboolean lk_daemon_load_identity (LkDaemon *daemon, GError **error);

/*
 * Connects to @bus_target (see lk_bus_open()), exports the objects and
 * then takes the bus name, so that no caller ever sees the name without
 * them. Fails if another process owns the name. @on_disconnect runs when
 * the bus goes away.
 */
gboolean lk_daemon_start (LkDaemon *daemon,
                          const char *bus_target,
                          GSourceFunc on_disconnect,
                          gpointer user_data,
                          GError **error);

/* Releases the name and flushes the bus. */
void lk_daemon_stop (LkDaemon *daemon);

const LkConfig *lk_daemon_get_config (LkDaemon *daemon);
LkDeviceState lk_daemon_get_state (LkDaemon *daemon);
/* RFC 7638 thumbprint of the device key; valid after lk_daemon_load_identity(). */
const char *lk_daemon_get_key_thumbprint (LkDaemon *daemon);
const char *lk_daemon_get_key_algorithm (LkDaemon *daemon);
/* The commands sent to the TPM so far (0 without the tpm2 backend), for the figures of a boot. */
guint64 lk_daemon_get_tpm_commands (LkDaemon *daemon);
/* The pairing machine, NULL when [Pairing] is not configured. */
LkPairing *lk_daemon_get_pairing (LkDaemon *daemon);
/* The owner's grant, NULL when the device is not paired. */
const LkGrant *lk_daemon_get_grant (LkDaemon *daemon);
/*
 * SIGHUP: reads apps.d and [Login]'s lists of who may log in again. What
 * cannot be read is logged, and what was in force stays.
 */
void lk_daemon_reload (LkDaemon *daemon);
/* The apps' tokens; valid after lk_daemon_start(). */
LkTokens *lk_daemon_get_tokens (LkDaemon *daemon);
/* Console logins, NULL without [Login]; valid after lk_daemon_start(). */
LkLogins *lk_daemon_get_logins (LkDaemon *daemon);
/* When the owner's access token expires (unix seconds); 0 while there is none. */
gint64 lk_daemon_get_token_expires_at (LkDaemon *daemon);
/* Forgets the owner's grant: the device is no longer paired. */
/*
 * Forgets the owner's grant: deletes it from the state dir, then asks the
 * server to revoke it (RFC 7009). Fails only when the local copy cannot
 * be deleted; @ret_revoked says whether the server revoked it (offline, or
 * without a revocation endpoint, it did not).
 */
void lk_daemon_unpair_async (LkDaemon *daemon, GAsyncReadyCallback callback, gpointer user_data);
gboolean lk_daemon_unpair_finish (GAsyncResult *result, gboolean *ret_revoked, GError **error);

/* The device certificate's enrollment and renewal, NULL when [Enrollment] is not configured. */
LkEnrollment *lk_daemon_get_enrollment (LkDaemon *daemon);

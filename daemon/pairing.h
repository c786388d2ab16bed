/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "oauth-device.h"

/*
 * Pairing with the owner's phone: the device authorization grant (RFC
 * 8628) as a state machine on the main loop. Start asks the authorization
 * server for a code; the daemon shows it; the machine polls the token
 * endpoint at the server's pace until the owner approves or refuses, the
 * code expires, or an admin cancels. One pairing at a time, and only so
 * many a hour: bursts of pairing attempts are an attack.
 */

typedef enum {
  LK_PAIRING_IDLE,        /* never started */
  LK_PAIRING_STARTING,    /* discovery and the device authorization request */
  LK_PAIRING_WAITING,     /* the code is out: waiting for the owner */
  LK_PAIRING_APPROVED,    /* tokens received and the grant kept */
  LK_PAIRING_DENIED,
  LK_PAIRING_EXPIRED,
  LK_PAIRING_CANCELLED,
  LK_PAIRING_FAILED,      /* the server could not be used, or the grant kept: see the failure */
} LkPairingState;

const char *lk_pairing_state_to_string (LkPairingState state);

typedef struct {
  const char *scope;
  const char *const *resources;   /* the APIs the grant is for (RFC 8707); NULL: none named */
  guint max_attempts_per_hour;
  guint default_interval;         /* seconds, when the server names none (RFC 8628: 5) */
} LkPairingConfig;

#define LK_TYPE_PAIRING (lk_pairing_get_type ())
G_DECLARE_FINAL_TYPE (LkPairing, lk_pairing, LK, PAIRING, GObject)

/*
 * What to do with the tokens of an approved pairing: keep the grant. When
 * it cannot, the pairing ends FAILED with its error rather than APPROVED.
 */
typedef gboolean (*LkPairingKeepFunc) (const LkTokenResponse *tokens, gpointer user_data, GError **error);

/*
 * The "changed" signal is emitted at every change of state. @client is
 * kept; @keep is called with the tokens when the owner approves.
 */
LkPairing *lk_pairing_new (LkOAuthClient *client,
                           const LkPairingConfig *config,
                           LkPairingKeepFunc keep,
                           gpointer user_data);

/*
 * Starts a pairing. Fails with LK_ERROR_BUSY while one is under way and
 * with LK_ERROR_RATE_LIMITED past the hourly cap; otherwise the outcome
 * arrives through "changed".
 */
gboolean lk_pairing_start (LkPairing *self, GError **error);

/* Ends the pairing under way (CANCELLED); LK_ERROR_FAILED when there is none. */
gboolean lk_pairing_cancel (LkPairing *self, GError **error);

LkPairingState lk_pairing_get_state (LkPairing *self);
/* The code to show, while WAITING; NULL otherwise. */
const LkDeviceAuthorization *lk_pairing_get_authorization (LkPairing *self);
/* When the code expires (unix seconds), while WAITING. */
gint64 lk_pairing_get_expires_at (LkPairing *self);
/* Why the last pairing ended as it did (DENIED, EXPIRED, FAILED), else NULL. */
const GError *lk_pairing_get_failure (LkPairing *self);

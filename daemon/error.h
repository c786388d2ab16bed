/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <systemd/sd-bus.h>

/*
 * The daemon's one error domain. Every code has exactly one D-Bus error
 * name (daemon/error.c), so clients get stable, typed errors.
 */
#define LK_ERROR (lk_error_quark ())

typedef enum {
  LK_ERROR_FAILED,
  LK_ERROR_INVALID_ARGS,
  LK_ERROR_ACCESS_DENIED,
  LK_ERROR_CONFIG,
  LK_ERROR_STATE_DIR,
  LK_ERROR_BUS,
  LK_ERROR_NETWORK,
  LK_ERROR_PROTOCOL,
  LK_ERROR_DENIED,
  LK_ERROR_EXPIRED,
  LK_ERROR_BUSY,
  LK_ERROR_RATE_LIMITED,
  LK_ERROR_CANCELLED,
  LK_ERROR_REVOKED,
  LK_ERROR_NOT_PAIRED,
  LK_ERROR_NOT_ALLOWED,     /* a valid identity, not allowed what it asked (a login as that user) */
  LK_ERROR_LOCKED_OUT,      /* too many failed logins for that user */
  LK_ERROR_NOT_ENROLLED,
} LkError;

GQuark lk_error_quark (void);

/* The D-Bus error name of @error; io.latchkey.Agent1.Error.Failed for foreign domains. */
const char *lk_error_to_dbus_name (const GError *error);

/* Fills @ret_error from @error and returns the negative errno sd-bus handlers return. */
int lk_error_to_sd_bus (const GError *error, sd_bus_error *ret_error);

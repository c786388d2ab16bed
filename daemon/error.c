/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "error.h"
#include "latchkey-names.h"

G_DEFINE_QUARK (latchkey-error-quark, lk_error)

static const struct {
  LkError code;
  const char *name;
} dbus_names[] = {
  { LK_ERROR_FAILED,        LK_DBUS_ERROR_PREFIX "Failed" },
  { LK_ERROR_INVALID_ARGS,  SD_BUS_ERROR_INVALID_ARGS },
  { LK_ERROR_ACCESS_DENIED, SD_BUS_ERROR_ACCESS_DENIED },
  { LK_ERROR_CONFIG,        LK_DBUS_ERROR_PREFIX "Config" },
  { LK_ERROR_STATE_DIR,     LK_DBUS_ERROR_PREFIX "StateDir" },
  { LK_ERROR_BUS,           LK_DBUS_ERROR_PREFIX "Bus" },
  { LK_ERROR_NETWORK,       LK_DBUS_ERROR_PREFIX "Network" },
  { LK_ERROR_PROTOCOL,      LK_DBUS_ERROR_PREFIX "Protocol" },
  { LK_ERROR_DENIED,        LK_DBUS_ERROR_PREFIX "Denied" },
  { LK_ERROR_EXPIRED,       LK_DBUS_ERROR_PREFIX "Expired" },
  { LK_ERROR_BUSY,          LK_DBUS_ERROR_PREFIX "Busy" },
  { LK_ERROR_RATE_LIMITED,  LK_DBUS_ERROR_PREFIX "RateLimited" },
  { LK_ERROR_CANCELLED,     LK_DBUS_ERROR_PREFIX "Cancelled" },
  { LK_ERROR_REVOKED,       LK_DBUS_ERROR_PREFIX "Revoked" },
  { LK_ERROR_NOT_PAIRED,    LK_DBUS_ERROR_PREFIX "NotPaired" },
  { LK_ERROR_NOT_ALLOWED,   LK_DBUS_ERROR_PREFIX "NotAllowed" },
  { LK_ERROR_LOCKED_OUT,    LK_DBUS_ERROR_PREFIX "LockedOut" },
  { LK_ERROR_NOT_ENROLLED,  LK_DBUS_ERROR_PREFIX "NotEnrolled" },
};

const char *
lk_error_to_dbus_name (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain == LK_ERROR)
    for (gsize i = 0; i < G_N_ELEMENTS (dbus_names); i++)
      if (dbus_names[i].code == (LkError) error->code)
        return dbus_names[i].name;

  return LK_DBUS_ERROR_FAILED;
}

int
lk_error_to_sd_bus (const GError *error, sd_bus_error *ret_error)
{
  int r;

  r = sd_bus_error_set (ret_error, lk_error_to_dbus_name (error), error->message);
  /* sd_bus_error_set maps well-known names to errnos; ours map to EIO. */
  return r < 0 ? r : -EIO;
}

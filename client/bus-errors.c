/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bus-open.h"
#include "latchkey-names.h"
#include "latchkeyctl.h"

int
lk_ctl_report_bus_error (LkCtl *ctl, const char *what, const sd_bus_error *error, int r)
{
  const char *where = lk_bus_target_describe (ctl->bus_target);

  if (sd_bus_error_has_names (error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)
      || (sd_bus_error_is_set (error) && g_str_has_prefix (error->name, "org.freedesktop.DBus.Error.Spawn.")))
    {
      g_printerr ("latchkeyctl: latchkeyd is not running on the %s (no owner of %s)\n",
                  where, LK_BUS_NAME);
      return LK_CTL_EXIT_UNAVAILABLE;
    }
  if (sd_bus_error_has_name (error, SD_BUS_ERROR_ACCESS_DENIED))
    {
      g_printerr ("latchkeyctl: %s: permission denied: %s\n", what, error->message);
      return LK_CTL_EXIT_DENIED;
    }
  if (sd_bus_error_has_names (error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED))
    {
      g_printerr ("latchkeyctl: %s: latchkeyd did not answer on the %s\n", what, where);
      return LK_CTL_EXIT_UNAVAILABLE;
    }
  if (sd_bus_error_is_set (error))
    g_printerr ("latchkeyctl: %s: %s (%s)\n", what, error->message, error->name);
  else
    g_printerr ("latchkeyctl: %s: %s\n", what, g_strerror (-r));
  return LK_CTL_EXIT_FAILED;
}

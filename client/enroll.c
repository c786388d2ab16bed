/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bus-open.h"
#include "latchkey-names.h"
#include "latchkeyctl.h"

/* A server may ask an enrollment to wait (202, Retry-After): long enough for that, not forever. */
#define RUN_TIMEOUT_USEC (10 * 60 * G_USEC_PER_SEC)

static int
run (LkCtl *ctl, int argc, char **argv, const char *method, const char *what, const char *summary)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *call = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  g_autoptr (GHashTable) props = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GOptionContext) options = g_option_context_new (summary);
  g_autoptr (GError) gerror = NULL;
  int r;

  if (!g_option_context_parse (options, &argc, &argv, &gerror) || argc > 1)
    {
      g_printerr ("latchkeyctl %s: %s\n", what, gerror ? gerror->message : "unexpected argument");
      return LK_CTL_EXIT_USAGE;
    }
  r = sd_bus_message_new_method_call (ctl->bus, &call, LK_BUS_NAME, LK_OBJECT_PATH, LK_CERTIFICATE_INTERFACE,
                                      method);
  if (r >= 0)
    r = sd_bus_call (ctl->bus, call, RUN_TIMEOUT_USEC, &error, &reply);
  if (r < 0)
    return lk_ctl_report_bus_error (ctl, what, &error, r);
  r = lk_ctl_get_properties (ctl, LK_CERTIFICATE_INTERFACE, props, &error);
  if (r < 0)
    return lk_ctl_report_bus_error (ctl, what, &error, r);
  g_print ("%s: %s, serial %s\n", g_str_equal (method, "Enroll") ? "Enrolled" : "Renewed",
           (const char *) g_hash_table_lookup (props, "Subject"), (const char *) g_hash_table_lookup (props, "Serial"));
  return LK_CTL_EXIT_OK;
}

int
lk_ctl_enroll (LkCtl *ctl, int argc, char **argv)
{
  return run (ctl, argc, argv, "Enroll", "enroll", "- enroll with the fleet CA now (bootstrap credential)");
}

int
lk_ctl_renew (LkCtl *ctl, int argc, char **argv)
{
  return run (ctl, argc, argv, "Renew", "renew", "- renew the device certificate now, for a new TPM key");
}

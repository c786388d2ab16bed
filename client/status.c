/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "latchkeyctl.h"

/* Device properties in the order and words `status` shows them. */
static const struct {
  const char *property;
  const char *label;
  const char *json_key;
} fields[] = {
  { "Version",    "Version",     "version" },
  { "State",      "State",       "state" },
  { "KeyBackend", "Key backend", "key_backend" },
  { "KeyAlgorithm", "Key algorithm", "key_algorithm" },
  { "KeyThumbprint", "Key thumbprint", "key_thumbprint" },
  { "LogLevel",   "Log level",   "log_level" },
};

static void
print_json (GHashTable *props)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const char *value = g_hash_table_lookup (props, fields[i].property);

      json_builder_set_member_name (builder, fields[i].json_key);
      if (value != NULL)
        json_builder_add_string_value (builder, value);
      else
        json_builder_add_null_value (builder);
    }
  json_builder_end_object (builder);

  lk_ctl_print_json (builder);
}

static void
print_human (LkCtl *ctl, GHashTable *props)
{
  g_print ("latchkeyd on the %s\n", lk_bus_target_describe (ctl->bus_target));
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      const char *value = g_hash_table_lookup (props, fields[i].property);

      g_print ("  %-15s %s\n", fields[i].label, value != NULL ? value : "-");
    }
}

int
lk_ctl_status (LkCtl *ctl, int argc, char **argv)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autoptr (GHashTable) props = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GError) gerror = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  int r;

  options = g_option_context_new ("- show the device and daemon state");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &gerror) || argc > 1)
    {
      g_printerr ("latchkeyctl status: %s\n", gerror ? gerror->message : "unexpected argument");
      return LK_CTL_EXIT_USAGE;
    }

  r = lk_ctl_get_properties (ctl, LK_DEVICE_INTERFACE, props, &error);
  if (r < 0)
    return lk_ctl_report_bus_error (ctl, "status", &error, r);

  if (json)
    print_json (props);
  else
    print_human (ctl, props);
  return LK_CTL_EXIT_OK;
}

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
print_json (LkCtl *ctl, GHashTable *props)
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
  return lk_ctl_show (ctl, argc, argv, "show the device and daemon state", LK_DEVICE_INTERFACE, print_json,
                      print_human);
}

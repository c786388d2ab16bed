/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "latchkeyctl.h"

static int
read_entry (sd_bus_message *reply, GHashTable *props)
{
  const char *name, *contents;
  char type;
  int r;

  r = sd_bus_message_read (reply, "s", &name);
  if (r < 0)
    return r;
  r = sd_bus_message_peek_type (reply, &type, &contents);
  if (r < 0)
    return r;
  if (g_strcmp0 (contents, "s") == 0)
    {
      const char *value;

      r = sd_bus_message_read (reply, "v", "s", &value);
      if (r >= 0)
        g_hash_table_insert (props, g_strdup (name), g_strdup (value));
      return r;
    }
  if (g_strcmp0 (contents, "t") == 0)
    {
      uint64_t value;

      r = sd_bus_message_read (reply, "v", "t", &value);
      if (r >= 0)
        g_hash_table_insert (props, g_strdup (name), g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) value));
      return r;
    }
  return sd_bus_message_skip (reply, "v");
}

int
lk_ctl_get_properties (LkCtl *ctl, const char *interface, GHashTable *props, sd_bus_error *error)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  int r;

  r = sd_bus_call_method (ctl->bus, LK_BUS_NAME, LK_OBJECT_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                          error, &reply, "s", interface);
  if (r < 0)
    return r;

  r = sd_bus_message_enter_container (reply, SD_BUS_TYPE_ARRAY, "{sv}");
  while (r >= 0 && (r = sd_bus_message_enter_container (reply, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0)
    {
      r = read_entry (reply, props);
      if (r >= 0)
        r = sd_bus_message_exit_container (reply);
    }
  if (r >= 0)
    r = sd_bus_message_exit_container (reply);
  if (r < 0)
    return sd_bus_error_set_errnof (error, -r, "malformed reply from latchkeyd: %s", g_strerror (-r));
  return 0;
}

void
lk_ctl_print_json (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

int
lk_ctl_show (LkCtl *ctl, int argc, char **argv, const char *summary, const char *interface,
             LkCtlPrint print_json, LkCtlPrint print_human)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autoptr (GHashTable) props = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GError) gerror = NULL;
  g_autofree char *parameter = g_strdup_printf ("- %s", summary);
  const char *verb = argv[0];
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON for scripts", NULL },
    { NULL }
  };
  int r;

  options = g_option_context_new (parameter);
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &gerror) || argc > 1)
    {
      g_printerr ("latchkeyctl %s: %s\n", verb, gerror ? gerror->message : "unexpected argument");
      return LK_CTL_EXIT_USAGE;
    }

  r = lk_ctl_get_properties (ctl, interface, props, &error);
  if (r < 0)
    return lk_ctl_report_bus_error (ctl, verb, &error, r);

  if (json)
    print_json (ctl, props);
  else
    print_human (ctl, props);
  return LK_CTL_EXIT_OK;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <json-glib/json-glib.h>

#include "latchkey-names.h"
#include "latchkeyctl.h"

#define BAR_WIDTH 30

static gint64
number (GHashTable *props, const char *name)
{
  const char *value = g_hash_table_lookup (props, name);

  return value ? g_ascii_strtoll (value, NULL, 10) : 0;
}

static char *
format_time (gint64 when)
{
  g_autoptr (GDateTime) time = when > 0 ? g_date_time_new_from_unix_utc (when) : NULL;

  return time ? g_date_time_format_iso8601 (time) : g_strdup ("-");
}

static char *
format_duration (gint64 seconds)
{
  if (seconds >= 2 * 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT " days", seconds / 86400);
  if (seconds >= 2 * 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT " hours", seconds / 3600);
  if (seconds >= 120)
    return g_strdup_printf ("%" G_GINT64_FORMAT " minutes", seconds / 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT " s", seconds);
}

/* How much of the lifetime is used up: [#########.....] 30% used, 14 days left. */
static char *
progress (gint64 not_before, gint64 not_after, gint64 now)
{
  g_autoptr (GString) bar = g_string_new ("[");
  gint64 lifetime = MAX (not_after - not_before, 1);
  gint64 used = CLAMP (now - not_before, 0, lifetime);
  guint filled = (guint) (used * BAR_WIDTH / lifetime);
  g_autofree char *left = format_duration (MAX (not_after - now, 0));

  for (guint i = 0; i < BAR_WIDTH; i++)
    g_string_append_c (bar, i < filled ? '#' : '.');
  g_string_append_printf (bar, "] %u%% used, %s left", (guint) (used * 100 / lifetime),
                          now >= not_after ? "none" : left);
  return g_string_free (g_steal_pointer (&bar), FALSE);
}

static void
print_json (LkCtl *ctl, GHashTable *props)
{
  static const char *const strings[] = { "State", "Subject", "Issuer", "Serial", "Failure" };
  static const char *const numbers[] = { "NotBefore", "NotAfter", "NextAttempt" };
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  for (gsize i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      g_autofree char *key = g_ascii_strdown (strings[i], -1);
      const char *value = g_hash_table_lookup (props, strings[i]);

      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value ? value : "");
    }
  json_builder_set_member_name (builder, "not_before");
  json_builder_add_int_value (builder, number (props, numbers[0]));
  json_builder_set_member_name (builder, "not_after");
  json_builder_add_int_value (builder, number (props, numbers[1]));
  json_builder_set_member_name (builder, "next_attempt");
  json_builder_add_int_value (builder, number (props, numbers[2]));
  json_builder_end_object (builder);
  lk_ctl_print_json (builder);
}

static void
print_human (LkCtl *ctl, GHashTable *props)
{
  gint64 not_before = number (props, "NotBefore"), not_after = number (props, "NotAfter");
  gint64 next = number (props, "NextAttempt");
  const char *failure = g_hash_table_lookup (props, "Failure");
  g_autofree char *from = format_time (not_before);
  g_autofree char *until = format_time (not_after);
  g_autofree char *next_text = format_time (next);

  g_print ("  %-13s %s\n", "State", (const char *) g_hash_table_lookup (props, "State"));
  if (not_after > 0)
    {
      g_autofree char *bar = progress (not_before, not_after, g_get_real_time () / G_USEC_PER_SEC);

      g_print ("  %-13s %s\n", "Subject", (const char *) g_hash_table_lookup (props, "Subject"));
      g_print ("  %-13s %s\n", "Issuer", (const char *) g_hash_table_lookup (props, "Issuer"));
      g_print ("  %-13s %s\n", "Serial", (const char *) g_hash_table_lookup (props, "Serial"));
      g_print ("  %-13s %s to %s\n", "Valid", from, until);
      g_print ("  %-13s %s\n", "Lifetime", bar);
    }
  if (next > 0)
    g_print ("  %-13s %s\n", "Next attempt", next_text);
  if (failure != NULL && *failure != '\0')
    g_print ("  %-13s %s\n", "Last failure", failure);
}

int
lk_ctl_cert (LkCtl *ctl, int argc, char **argv)
{
  return lk_ctl_show (ctl, argc, argv, "show the device certificate", LK_CERTIFICATE_INTERFACE, print_json,
                      print_human);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The interface files in dbus/ are the documented contract of the daemon's interfaces. This
 * test holds the daemon's live introspection to it, member by member, and
 * checks that every member in the files is documented.
 */
#include "config.h"

#include <string.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

static GPtrArray *
contract_files (void)
{
  g_autofree char *dir_path = g_build_filename (lk_test_env ("G_TEST_SRCDIR"), "dbus", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, &error);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, LK_BUS_NAME ".") && g_str_has_suffix (name, ".xml"))
      g_ptr_array_add (files, g_build_filename (dir_path, name, NULL));
  g_assert_cmpuint (files->len, >, 0);
  return files;
}

static char *
args_signature (GDBusArgInfo **args)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_string_append_printf (s, "%s:%s ", args[i]->name, args[i]->signature);
  return g_string_free (s, FALSE);
}

static gboolean
annotation_is (GDBusAnnotationInfo **annotations, const char *name, const char *value)
{
  const char *found = g_dbus_annotation_info_lookup (annotations, name);
  return g_strcmp0 (found, value) == 0;
}

/* Asserts that @live has exactly the members of @contract, with the same types. */
static void
assert_same_interface (GDBusInterfaceInfo *contract, GDBusInterfaceInfo *live)
{
  guint n_methods = 0, n_properties = 0, n_signals = 0;

  for (gsize i = 0; contract->methods != NULL && contract->methods[i] != NULL; i++, n_methods++)
    {
      GDBusMethodInfo *want = contract->methods[i];
      GDBusMethodInfo *got = g_dbus_interface_info_lookup_method (live, want->name);
      g_autofree char *want_in = args_signature (want->in_args);
      g_autofree char *want_out = args_signature (want->out_args);
      g_autofree char *got_in = NULL, *got_out = NULL;

      if (got == NULL)
        g_error ("%s.%s is documented but the daemon does not export it", contract->name, want->name);
      got_in = args_signature (got->in_args);
      got_out = args_signature (got->out_args);
      g_assert_cmpstr (got_in, ==, want_in);
      g_assert_cmpstr (got_out, ==, want_out);
    }

  for (gsize i = 0; contract->properties != NULL && contract->properties[i] != NULL; i++, n_properties++)
    {
      GDBusPropertyInfo *want = contract->properties[i];
      GDBusPropertyInfo *got = g_dbus_interface_info_lookup_property (live, want->name);
      const char *emits = "org.freedesktop.DBus.Property.EmitsChangedSignal";

      if (got == NULL)
        g_error ("%s.%s is documented but the daemon does not export it", contract->name, want->name);
      g_assert_cmpstr (got->signature, ==, want->signature);
      g_assert_cmpint (got->flags, ==, want->flags);
      /* "const" is a promise to clients that they may cache the value. */
      g_assert_cmpint (annotation_is (got->annotations, emits, "const"), ==,
                       annotation_is (want->annotations, emits, "const"));
    }

  for (gsize i = 0; contract->signals != NULL && contract->signals[i] != NULL; i++, n_signals++)
    {
      GDBusSignalInfo *want = contract->signals[i];
      GDBusSignalInfo *got = g_dbus_interface_info_lookup_signal (live, want->name);
      g_autofree char *want_args = args_signature (want->args);
      g_autofree char *got_args = NULL;

      if (got == NULL)
        g_error ("%s.%s is documented but the daemon does not export it", contract->name, want->name);
      got_args = args_signature (got->args);
      g_assert_cmpstr (got_args, ==, want_args);
    }

  /* And nothing undocumented. */
  for (gsize i = 0; live->methods != NULL && live->methods[i] != NULL; i++)
    if (g_dbus_interface_info_lookup_method (contract, live->methods[i]->name) == NULL)
      g_error ("%s.%s is exported but not documented", live->name, live->methods[i]->name);
  for (gsize i = 0; live->properties != NULL && live->properties[i] != NULL; i++)
    if (g_dbus_interface_info_lookup_property (contract, live->properties[i]->name) == NULL)
      g_error ("%s.%s is exported but not documented", live->name, live->properties[i]->name);
  for (gsize i = 0; live->signals != NULL && live->signals[i] != NULL; i++)
    if (g_dbus_interface_info_lookup_signal (contract, live->signals[i]->name) == NULL)
      g_error ("%s.%s is exported but not documented", live->name, live->signals[i]->name);

  g_test_message ("%s: %u methods, %u properties, %u signals", contract->name, n_methods, n_properties,
                  n_signals);
}

static void
test_live_matches_contract (void)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("", NULL);
  g_autoptr (GPtrArray) files = contract_files ();
  g_autoptr (GDBusNodeInfo) live = NULL;
  g_autoptr (GError) gerror = NULL;
  const char *xml;
  guint ours = 0;
  int r;

  r = sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, "org.freedesktop.DBus.Introspectable",
                          "Introspect", &error, &reply, NULL);
  g_assert_cmpint (r, >=, 0);
  r = sd_bus_message_read (reply, "s", &xml);
  g_assert_cmpint (r, >=, 0);
  live = g_dbus_node_info_new_for_xml (xml, &gerror);
  g_assert_no_error (gerror);

  for (guint f = 0; f < files->len; f++)
    {
      g_autofree char *text = NULL;
      g_autoptr (GDBusNodeInfo) contract = NULL;

      g_file_get_contents (files->pdata[f], &text, NULL, &gerror);
      g_assert_no_error (gerror);
      contract = g_dbus_node_info_new_for_xml (text, &gerror);
      g_assert_no_error (gerror);
      g_assert_cmpstr (contract->path, ==, LK_OBJECT_PATH);

      for (gsize i = 0; contract->interfaces[i] != NULL; i++)
        {
          GDBusInterfaceInfo *want = contract->interfaces[i];
          GDBusInterfaceInfo *got = g_dbus_node_info_lookup_interface (live, want->name);

          if (got == NULL)
            g_error ("%s is documented in %s but not exported", want->name, (char *) files->pdata[f]);
          assert_same_interface (want, got);
        }
    }

  /* Every interface of ours the daemon exports has a contract. */
  for (gsize i = 0; live->interfaces[i] != NULL; i++)
    {
      const char *name = live->interfaces[i]->name;
      g_autofree char *file = NULL;

      if (!g_str_has_prefix (name, LK_BUS_NAME "."))
        continue;
      file = g_strdup_printf ("%s/dbus/%s.xml", lk_test_env ("G_TEST_SRCDIR"), name);
      if (!g_file_test (file, G_FILE_TEST_EXISTS))
        g_error ("%s is exported but has no %s", name, file);
      ours++;
    }
  g_assert_cmpuint (ours, ==, files->len);

  g_assert_cmpint (lk_test_daemon_stop (daemon), ==, 0);
}

/* Checks, while parsing, that each interface, method, property and signal has a <doc:doc>. */
typedef struct {
  GPtrArray *stack;      /* element names */
  GPtrArray *undocumented;
  GArray *documented;    /* per stack depth: saw a doc:doc child */
} DocCheck;

static gboolean
needs_doc (const char *element)
{
  return g_str_equal (element, "interface") || g_str_equal (element, "method")
         || g_str_equal (element, "property") || g_str_equal (element, "signal");
}

static void
doc_start (GMarkupParseContext *context, const char *element, const char **names, const char **values,
           gpointer user_data, GError **error)
{
  DocCheck *check = user_data;
  gboolean no = FALSE;

  if (g_str_equal (element, "doc:doc") && check->documented->len > 0)
    g_array_index (check->documented, gboolean, check->documented->len - 1) = TRUE;

  if (needs_doc (element))
    {
      const char *name = NULL;

      for (gsize i = 0; names[i] != NULL; i++)
        if (g_str_equal (names[i], "name"))
          name = values[i];
      g_ptr_array_add (check->stack, g_strdup_printf ("%s %s", element, name));
    }
  else
    g_ptr_array_add (check->stack, NULL);
  g_array_append_val (check->documented, no);
}

static void
doc_end (GMarkupParseContext *context, const char *element, gpointer user_data, GError **error)
{
  DocCheck *check = user_data;
  char *what = g_ptr_array_steal_index (check->stack, check->stack->len - 1);
  gboolean documented = g_array_index (check->documented, gboolean, check->documented->len - 1);

  g_array_set_size (check->documented, check->documented->len - 1);
  if (what != NULL && !documented)
    g_ptr_array_add (check->undocumented, what);
  else
    g_free (what);
}

static void
test_contract_documented (void)
{
  g_autoptr (GPtrArray) files = contract_files ();
  const GMarkupParser parser = { .start_element = doc_start, .end_element = doc_end };

  for (guint f = 0; f < files->len; f++)
    {
      g_autoptr (GPtrArray) stack = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) undocumented = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GArray) documented = g_array_new (FALSE, FALSE, sizeof (gboolean));
      DocCheck check = { stack, undocumented, documented };
      g_autoptr (GMarkupParseContext) context = NULL;
      g_autoptr (GError) error = NULL;
      g_autofree char *text = NULL;

      g_file_get_contents (files->pdata[f], &text, NULL, &error);
      g_assert_no_error (error);
      context = g_markup_parse_context_new (&parser, 0, &check, NULL);
      /* GMarkup does not read DOCTYPEs; the interface starts at <node>. */
      g_markup_parse_context_parse (context, strstr (text, "<node"), -1, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < undocumented->len; i++)
        g_test_message ("%s: %s has no <doc:doc>", (char *) files->pdata[f], (char *) undocumented->pdata[i]);
      g_assert_cmpuint (undocumented->len, ==, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/introspection/live-matches-contract", test_live_matches_contract);
  g_test_add_func ("/introspection/contract-documented", test_contract_documented);

  return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "bus-open.h"
#include "latchkeyctl.h"

static const struct {
  const char *name;
  LkCtlVerb run;
  const char *summary;
} verbs[] = {
  { "status", lk_ctl_status, "Show the device and daemon state" },
  { "pair", lk_ctl_pair, "Pair this device with its owner's phone" },
  { "unpair", lk_ctl_unpair, "Forget the owner's grant" },
  { "cert", lk_ctl_cert, "Show the device certificate" },
  { "enroll", lk_ctl_enroll, "Enroll with the fleet CA now" },
  { "renew", lk_ctl_renew, "Renew the device certificate now" },
};

static char *
verb_summary (void)
{
  GString *text = g_string_new ("Commands:\n");

  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    g_string_append_printf (text, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  return g_string_free (text, FALSE);
}

int
main (int argc, char **argv)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *bus_target = NULL;
  g_autofree char *summary = NULL;
  gboolean version = FALSE;
  LkCtl ctl = { NULL, NULL };
  const GOptionEntry entries[] = {
    { "bus", 'b', 0, G_OPTION_ARG_STRING, &bus_target,
      "Bus latchkeyd is on: system (default), session, or a D-Bus address", "BUS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  int r;

  setlocale (LC_ALL, "");
  g_set_prgname ("latchkeyctl");

  options = g_option_context_new ("COMMAND [ARGS…] - control latchkeyd");
  summary = verb_summary ();
  g_option_context_set_description (options, summary);
  g_option_context_add_main_entries (options, entries, NULL);
  /* Options after the verb belong to the verb. */
  g_option_context_set_strict_posix (options, TRUE);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("latchkeyctl: %s\n", error->message);
      return LK_CTL_EXIT_USAGE;
    }
  if (version)
    {
      g_print ("latchkeyctl %s\n", PACKAGE_VERSION);
      return LK_CTL_EXIT_OK;
    }
  if (argc < 2)
    {
      g_printerr ("latchkeyctl: no command given (try --help)\n");
      return LK_CTL_EXIT_USAGE;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    {
      if (strcmp (argv[1], verbs[i].name) != 0)
        continue;

      ctl.bus_target = bus_target;
      r = lk_bus_open (bus_target, "latchkeyctl", &bus);
      if (r < 0)
        {
          g_printerr ("latchkeyctl: cannot connect to the %s: %s\n",
                      lk_bus_target_describe (bus_target), g_strerror (-r));
          return LK_CTL_EXIT_UNAVAILABLE;
        }
      ctl.bus = bus;
      return verbs[i].run (&ctl, argc - 1, argv + 1);
    }

  g_printerr ("latchkeyctl: unknown command “%s” (try --help)\n", argv[1]);
  return LK_CTL_EXIT_USAGE;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <systemd/sd-daemon.h>

#include "authz.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "message-ids.h"
#include "state-dir.h"

#define DEFAULT_CONFIG SYSCONFDIR "/latchkey/latchkey.conf"

typedef struct {
  GMainLoop *loop;
  gboolean bus_lost;
} RunState;

static gboolean
on_quit_signal (gpointer user_data)
{
  RunState *run = user_data;

  lk_info ("daemon", "stopping on signal");
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal (gpointer user_data)
{
  lk_info ("daemon", "rereading the app policies and who may log in on SIGHUP");
  lk_daemon_reload (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_bus_lost (gpointer user_data)
{
  RunState *run = user_data;

  run->bus_lost = TRUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

/* systemd's StateDirectory= may list several; ours is the first. */
static char *
default_state_dir (void)
{
  const char *env = g_getenv ("STATE_DIRECTORY");

  if (env != NULL && *env != '\0')
    {
      g_auto (GStrv) dirs = g_strsplit (env, ":", 2);
      return g_strdup (dirs[0]);
    }
  return g_strdup (STATEDIR);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) options = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  RunState run = { NULL, FALSE };
  g_autoptr (LkDaemon) daemon = NULL;
  g_autoptr (LkConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *bus_target = NULL;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default " DEFAULT_CONFIG ")", "FILE" },
    { "state-dir", 's', 0, G_OPTION_ARG_FILENAME, &state_dir,
      "State directory (default $STATE_DIRECTORY or " STATEDIR ")", "DIR" },
    { "bus", 'b', 0, G_OPTION_ARG_STRING, &bus_target,
      "Bus to serve on: system (default), session, or a D-Bus address", "BUS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  /* Key material and tokens live in this process: no core dumps, no ptrace by peers. */
  (void) prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  /* TSS errors reach the log decoded, with context; its own stderr chatter is noise. */
  g_setenv ("TSS2_LOG", "all+none", FALSE);

  setlocale (LC_ALL, "");
  g_set_prgname ("latchkeyd");
  lk_log_init ();

  options = g_option_context_new ("- latchkey identity and token agent");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("latchkeyd: %s\n", error->message);
      return EX_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("latchkeyd: unexpected argument “%s”\n", argv[1]);
      return EX_USAGE;
    }
  if (version)
    {
      g_print ("latchkeyd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (config_path == NULL)
    config_path = g_strdup (DEFAULT_CONFIG);
  if (state_dir == NULL)
    state_dir = default_state_dir ();

  /* Everything is checked before the bus is touched: never half-configured. */
  config = lk_config_load (config_path, &error);
  if (config == NULL || !lk_authz_set_admin_group (config->admin_group, &error))
    {
      g_printerr ("latchkeyd: %s\n", error->message);
      return EX_CONFIG;
    }
  if (!lk_state_dir_check (state_dir, &error))
    {
      g_printerr ("latchkeyd: %s\n", error->message);
      return EX_CONFIG;
    }
  /* Held, never closed: the lock goes with the process. */
  if (lk_state_dir_lock (state_dir, &error) < 0)
    {
      g_printerr ("latchkeyd: %s\n", error->message);
      return EXIT_FAILURE;
    }
  lk_log_set_level (config->log_level);

  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  g_unix_signal_add (SIGTERM, on_quit_signal, &run);
  g_unix_signal_add (SIGINT, on_quit_signal, &run);

  daemon = lk_daemon_new (g_steal_pointer (&config), state_dir);
  if (!lk_daemon_load_identity (daemon, &error))
    {
      g_printerr ("latchkeyd: device key: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (!lk_daemon_start (daemon, bus_target, on_bus_lost, &run, &error))
    {
      g_printerr ("latchkeyd: %s\n", error->message);
      return EXIT_FAILURE;
    }

  g_unix_signal_add (SIGHUP, on_reload_signal, daemon);

  lk_event (G_LOG_LEVEL_INFO, "daemon", LK_MESSAGE_STARTED,
            "latchkeyd %s started (key backend %s, %" G_GUINT64_FORMAT " TPM commands, state %s)", PACKAGE_VERSION,
            lk_key_backend_to_string (lk_daemon_get_config (daemon)->key_backend),
            lk_daemon_get_tpm_commands (daemon), state_dir);
  (void) sd_notify (0, "READY=1\nSTATUS=Serving");

  g_main_loop_run (loop);

  (void) sd_notify (0, "STOPPING=1");
  lk_daemon_stop (daemon);
  /* A lost bus is a failure systemd should see and restart us for. */
  return run.bus_lost ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An app on the display, for tests of io.latchkey.Agent1.Tokens:
 *
 *   app-client [--uid UID] [--unit UNIT] token RESOURCE SCOPE...
 *   app-client [--uid UID] [--unit UNIT] proof METHOD URL TOKEN [NONCE]
 *
 * With --unit, it calls from a cgroup named UNIT, which is how systemd
 * places a service and how the daemon tells its unit; with --uid, a root
 * caller calls as UID. Prints "ok TOKEN TYPE EXPIRES_AT"
 * (token) or "ok PROOF" (proof), or "error NAME: MESSAGE"; RESOURCE "" is
 * none.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-open.h"
#include "latchkey-names.h"

/* Where systemd tracks services: the unified hierarchy (v2, or hybrid), else the named v1 one. */
static const char *const hierarchies[] = {
  "/sys/fs/cgroup/unified",
  "/sys/fs/cgroup/systemd",
  "/sys/fs/cgroup",
};

static int
write_pid (const char *dir)
{
  char *path = NULL;
  FILE *f;
  int ok;

  if (asprintf (&path, "%s/cgroup.procs", dir) < 0)
    return -ENOMEM;
  f = fopen (path, "w");
  free (path);
  if (f == NULL)
    return -errno;
  ok = fprintf (f, "%d\n", (int) getpid ()) > 0;
  return fclose (f) == 0 && ok ? 0 : -EIO;
}

/* The cgroup dirs for UNIT in every hierarchy that tracks units here (hybrid: two, v2: one). */
static int
unit_dirs (const char *unit, char dirs[][512])
{
  int n = 0;

  for (size_t i = 0; i < sizeof hierarchies / sizeof hierarchies[0]; i++)
    {
      char probe[512];

      /* A plain tmpfs /sys/fs/cgroup (v1) has no cgroup.procs: it is skipped. */
      snprintf (probe, sizeof probe, "%s/cgroup.procs", hierarchies[i]);
      if (access (probe, W_OK) == 0)
        snprintf (dirs[n++], 512, "%s/%s", hierarchies[i], unit);
    }
  return n;
}

static void
become (uid_t uid)
{
  if (setgroups (0, NULL) < 0 || setresgid (uid, uid, uid) < 0 || setresuid (uid, uid, uid) < 0)
    {
      perror ("app-client: cannot change user");
      exit (2);
    }
}

static int
call (sd_bus *bus, int argc, char **argv)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *call = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  const char *token, *type, *proof;
  uint64_t expires_at;
  int r;

  if (strcmp (argv[0], "token") == 0 && argc >= 3)
    {
      r = sd_bus_message_new_method_call (bus, &call, LK_BUS_NAME, LK_OBJECT_PATH, LK_TOKENS_INTERFACE, "GetToken");
      if (r >= 0)
        r = sd_bus_message_append_strv (call, argv + 2);
      if (r >= 0)
        r = sd_bus_message_append (call, "sa{sv}", argv[1], 0);
    }
  else if (strcmp (argv[0], "proof") == 0 && (argc == 4 || argc == 5))
    {
      r = sd_bus_message_new_method_call (bus, &call, LK_BUS_NAME, LK_OBJECT_PATH, LK_TOKENS_INTERFACE,
                                          "CreateProof");
      if (r >= 0)
        r = sd_bus_message_append (call, "sss", argv[1], argv[2], argv[3]);
      if (r >= 0 && argc == 5)
        r = sd_bus_message_append (call, "a{sv}", 1, "nonce", "s", argv[4]);
      else if (r >= 0)
        r = sd_bus_message_append (call, "a{sv}", 0);
    }
  else
    {
      fprintf (stderr, "usage: app-client [--uid UID] [--unit UNIT] token RESOURCE SCOPE...|proof METHOD URL TOKEN [NONCE]\n");
      return 2;
    }
  if (r < 0)
    {
      fprintf (stderr, "app-client: %s\n", strerror (-r));
      return 2;
    }

  r = sd_bus_call (bus, call, 0, &error, &reply);
  if (r < 0)
    printf ("error %s: %s\n", error.name, error.message);
  else if (strcmp (argv[0], "token") == 0 && sd_bus_message_read (reply, "sst", &token, &type, &expires_at) >= 0)
    printf ("ok %s %s %llu\n", token, type, (unsigned long long) expires_at);
  else if (strcmp (argv[0], "proof") == 0 && sd_bus_message_read (reply, "s", &proof) >= 0)
    printf ("ok %s\n", proof);
  else
    {
      fprintf (stderr, "app-client: malformed reply\n");
      return 2;
    }
  return 0;
}

static int
run (const char *uid, int argc, char **argv)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  int r;

  if (uid != NULL)
    become ((uid_t) strtoul (uid, NULL, 10));
  r = lk_bus_open ("system", "app-client", &bus);
  if (r < 0)
    {
      fprintf (stderr, "app-client: %s\n", strerror (-r));
      return 2;
    }
  return call (bus, argc, argv);
}

/*
 * Moves this process into the cgroup @dir, made if need be. Another
 * app-client of the same unit that finishes may remove it in between:
 * then again.
 */
static int
join (const char *dir)
{
  int r = -ENOENT;

  for (int attempt = 0; attempt < 10 && r == -ENOENT; attempt++)
    {
      if (mkdir (dir, 0755) < 0 && errno != EEXIST)
        return -errno;
      r = write_pid (dir);
    }
  errno = -r;
  return r;
}

/*
 * Runs the call in a child placed in UNIT's cgroups, which are removed
 * once it is gone: the parent stays root to do so.
 */
static int
run_in_unit (const char *unit, const char *uid, int argc, char **argv)
{
  char dirs[3][512];
  int n = unit_dirs (unit, dirs), status;
  pid_t child;

  if (n == 0)
    {
      fprintf (stderr, "app-client: no writable cgroup hierarchy to place %s in\n", unit);
      return 2;
    }
  fflush (stdout);
  child = fork ();
  if (child < 0)
    return 2;
  if (child == 0)
    {
      for (int i = 0; i < n; i++)
        if (join (dirs[i]) < 0)
          {
            fprintf (stderr, "app-client: cannot join %s: %s\n", dirs[i], strerror (errno));
            _exit (2);
          }
      status = run (uid, argc, argv);
      fflush (stdout);
      _exit (status);
    }
  if (waitpid (child, &status, 0) < 0)
    return 2;
  /* Another app-client may still be in the unit: then the last one out removes it. */
  for (int i = 0; i < n; i++)
    (void) rmdir (dirs[i]);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 2;
}

int
main (int argc, char **argv)
{
  const char *unit = NULL, *uid = NULL;
  int i = 1;

  while (argc - i >= 2 && strncmp (argv[i], "--", 2) == 0)
    {
      if (strcmp (argv[i], "--unit") == 0)
        unit = argv[i + 1];
      else if (strcmp (argv[i], "--uid") == 0)
        uid = argv[i + 1];
      i += 2;
    }
  if (argc - i < 1)
    {
      fprintf (stderr, "usage: app-client [--uid UID] [--unit UNIT] token|proof ...\n");
      return 2;
    }
  if (unit != NULL)
    return run_in_unit (unit, uid, argc - i, argv + i);
  return run (uid, argc - i, argv + i);
}

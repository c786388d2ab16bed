/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bus-call [--uid UID] INTERFACE MEMBER [STRING...]: calls MEMBER on
 * latchkeyd's root object on the system bus with string arguments and
 * prints "ok" or "error NAME: MESSAGE". With --uid, a root caller first
 * becomes UID (and its group), so tests can call as an unprivileged user.
 */
#include "config.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-open.h"
#include "latchkey-names.h"

static void
become (uid_t uid)
{
  if (setgroups (0, NULL) < 0 || setresgid (uid, uid, uid) < 0 || setresuid (uid, uid, uid) < 0)
    {
      perror ("bus-call: cannot change user");
      exit (2);
    }
}

int
main (int argc, char **argv)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *call = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  int i = 1, r;

  if (argc > 2 && strcmp (argv[1], "--uid") == 0)
    {
      become ((uid_t) strtoul (argv[2], NULL, 10));
      i = 3;
    }
  if (argc - i < 2)
    {
      fprintf (stderr, "usage: bus-call [--uid UID] INTERFACE MEMBER [STRING...]\n");
      return 2;
    }

  r = lk_bus_open ("system", "bus-call", &bus);
  if (r >= 0)
    r = sd_bus_message_new_method_call (bus, &call, LK_BUS_NAME, LK_OBJECT_PATH, argv[i], argv[i + 1]);
  for (int a = i + 2; r >= 0 && a < argc; a++)
    r = sd_bus_message_append (call, "s", argv[a]);
  if (r < 0)
    {
      fprintf (stderr, "bus-call: %s\n", strerror (-r));
      return 2;
    }

  r = sd_bus_call (bus, call, 0, &error, &reply);
  if (r < 0)
    printf ("error %s: %s\n", error.name, error.message);
  else
    printf ("ok\n");
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Round trips to latchkeyd over a private system bus: Properties.Get of one
 * property and Properties.GetAll of the Device interface, each authorized
 * from the caller's credentials as every call is. Reports latency and
 * calls per second; asserts nothing about time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

typedef int (*Call) (sd_bus *bus);

static int
get_state (sd_bus *bus)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autofree char *state = NULL;

  return sd_bus_get_property_string (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_DEVICE_INTERFACE, "State",
                                     &error, &state);
}

static int
get_all (sd_bus *bus)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;

  return sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, "org.freedesktop.DBus.Properties",
                             "GetAll", &error, &reply, "s", LK_DEVICE_INTERFACE);
}

static void
measure (sd_bus *bus, const char *name, Call call, guint iterations)
{
  gint64 start;
  double usec;

  for (guint i = 0; i < 100; i++)
    if (call (bus) < 0)
      {
        fprintf (stderr, "bench-bus: %s failed\n", name);
        exit (1);
      }

  start = g_get_monotonic_time ();
  for (guint i = 0; i < iterations; i++)
    if (call (bus) < 0)
      {
        fprintf (stderr, "bench-bus: %s failed\n", name);
        exit (1);
      }
  usec = (double) (g_get_monotonic_time () - start) / iterations;
  printf ("%-24s %6u calls  %8.1f µs/call  %8.0f calls/s\n", name, iterations, usec, 1e6 / usec);
}

int
main (int argc, char **argv)
{
  guint iterations = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : 5000;
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  g_autoptr (LkTestDaemon) daemon = lk_test_daemon_start ("[Device]\nKeyBackend=software\n", NULL);

  measure (bus, "Properties.Get State", get_state, iterations);
  measure (bus, "Properties.GetAll Device", get_all, iterations);
  return lk_test_daemon_stop (daemon) == 0 ? 0 : 1;
}

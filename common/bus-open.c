/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "bus-open.h"

static int
open_address (const char *address, sd_bus **ret)
{
  _cleanup_ (sd_bus_unrefp) sd_bus *bus = NULL;
  int r;

  r = sd_bus_new (&bus);
  if (r < 0)
    return r;
  r = sd_bus_set_address (bus, address);
  if (r < 0)
    return r;
  r = sd_bus_set_bus_client (bus, 1);
  if (r < 0)
    return r;
  r = sd_bus_start (bus);
  if (r < 0)
    return r;

  *ret = bus;
  bus = NULL;
  return 0;
}

int
lk_bus_open (const char *target, const char *description, sd_bus **ret)
{
  _cleanup_ (sd_bus_unrefp) sd_bus *bus = NULL;
  int r;

  if (target == NULL || strcmp (target, "system") == 0)
    r = sd_bus_open_system_with_description (&bus, description);
  else if (strcmp (target, "session") == 0)
    r = sd_bus_open_user_with_description (&bus, description);
  else if (strchr (target, ':') != NULL)
    r = open_address (target, &bus);
  else
    return -EINVAL;
  if (r < 0)
    return r;

  *ret = bus;
  bus = NULL;
  return 0;
}

const char *
lk_bus_target_describe (const char *target)
{
  if (target == NULL || strcmp (target, "system") == 0)
    return "system bus";
  if (strcmp (target, "session") == 0)
    return "session bus";
  return target;
}

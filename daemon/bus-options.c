/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "bus-options.h"

int
lk_bus_read_string_option (sd_bus_message *m, const char *name, const char **ret_value, sd_bus_error *error)
{
  const char *key;
  int r;

  r = sd_bus_message_enter_container (m, SD_BUS_TYPE_ARRAY, "{sv}");
  if (r < 0)
    return r;
  while ((r = sd_bus_message_enter_container (m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0)
    {
      r = sd_bus_message_read (m, "s", &key);
      if (r < 0)
        return r;
      if (name == NULL || strcmp (key, name) != 0)
        return sd_bus_error_setf (error, SD_BUS_ERROR_INVALID_ARGS, "unknown option “%s”", key);
      r = sd_bus_message_read (m, "v", "s", ret_value);
      if (r < 0)
        return sd_bus_error_setf (error, SD_BUS_ERROR_INVALID_ARGS, "option “%s” has the wrong type", key);
      r = sd_bus_message_exit_container (m);
      if (r < 0)
        return r;
    }
  if (r < 0)
    return r;
  return sd_bus_message_exit_container (m);
}

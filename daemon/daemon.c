/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "bus-open.h"
#include "bus-source.h"
#include "daemon.h"
#include "device-object.h"
#include "error.h"
#include "latchkey-names.h"
#include "log.h"

struct _LkDaemon {
  LkConfig *config;
  char *state_dir;
  sd_bus *bus;
  GSource *bus_source;
  LkDeviceState state;
};

const char *
lk_device_state_to_string (LkDeviceState state)
{
  switch (state)
    {
    case LK_DEVICE_STATE_UNPROVISIONED:
      return "unprovisioned";
    }
  g_return_val_if_reached (NULL);
}

LkDaemon *
lk_daemon_new (LkConfig *config, const char *state_dir)
{
  LkDaemon *daemon = g_new0 (LkDaemon, 1);

  daemon->config = config;
  daemon->state_dir = g_strdup (state_dir);
  daemon->state = LK_DEVICE_STATE_UNPROVISIONED;
  return daemon;
}

void
lk_daemon_free (LkDaemon *daemon)
{
  if (daemon == NULL)
    return;
  lk_daemon_stop (daemon);
  lk_config_free (daemon->config);
  g_free (daemon->state_dir);
  g_free (daemon);
}

gboolean
lk_daemon_start (LkDaemon *daemon,
                 const char *bus_target,
                 GSourceFunc on_disconnect,
                 gpointer user_data,
                 GError **error)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  const char *where = lk_bus_target_describe (bus_target);
  int r;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (daemon->bus == NULL, FALSE);

  r = lk_bus_open (bus_target, "latchkeyd", &bus);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot connect to the %s: %s",
                   where, g_strerror (-r));
      return FALSE;
    }

  r = lk_device_object_add (bus, daemon);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot export %s: %s",
                   LK_DEVICE_INTERFACE, g_strerror (-r));
      return FALSE;
    }

  /* No queueing and no replacing: a second daemon must fail, not wait. */
  r = sd_bus_request_name (bus, LK_BUS_NAME, 0);
  if (r == -EEXIST || r == -EALREADY)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS,
                   "%s is already owned on the %s: is another latchkeyd running?",
                   LK_BUS_NAME, where);
      return FALSE;
    }
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot own %s on the %s: %s",
                   LK_BUS_NAME, where, g_strerror (-r));
      return FALSE;
    }

  daemon->bus_source = lk_bus_source_new (bus, on_disconnect, user_data);
  g_source_attach (daemon->bus_source, NULL);
  daemon->bus = g_steal_pointer (&bus);

  lk_info ("bus", "serving %s on the %s", LK_BUS_NAME, where);
  return TRUE;
}

void
lk_daemon_stop (LkDaemon *daemon)
{
  if (daemon->bus == NULL)
    return;

  g_source_destroy (daemon->bus_source);
  g_clear_pointer (&daemon->bus_source, g_source_unref);
  if (sd_bus_is_open (daemon->bus) > 0)
    (void) sd_bus_release_name (daemon->bus, LK_BUS_NAME);
  daemon->bus = sd_bus_flush_close_unref (daemon->bus);
}

const LkConfig *
lk_daemon_get_config (LkDaemon *daemon)
{
  return daemon->config;
}

LkDeviceState
lk_daemon_get_state (LkDaemon *daemon)
{
  return daemon->state;
}

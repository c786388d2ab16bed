/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "authz.h"
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
  LkKeystore *keystore;
  char *key_thumbprint;
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
  g_clear_pointer (&daemon->keystore, lk_keystore_unref);
  g_free (daemon->key_thumbprint);
  g_free (daemon->state_dir);
  g_free (daemon);
}

gboolean
lk_daemon_load_identity (LkDaemon *daemon, GError **error)
{
  LkKeystoreBackend backend = daemon->config->key_backend;
  g_autoptr (LkKeystore) keystore = NULL;
  gboolean created = FALSE;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (backend == LK_KEYSTORE_SOFTWARE)
    lk_warning ("identity", "KeyBackend=software keeps the device key in a file of %s: "
                "for tests and machines without a TPM only, never for a shipped device",
                daemon->state_dir);

  keystore = lk_keystore_open (backend, daemon->state_dir, daemon->config->tcti, error);
  if (keystore == NULL
      || !lk_keystore_set_seal_pcrs (keystore, daemon->config->seal_pcrs->data, daemon->config->seal_pcrs->len,
                                     error)
      || !lk_keystore_ensure_device_key (keystore, &created, error))
    return FALSE;
  if (daemon->config->seal_pcrs->len > 0)
    {
      g_autoptr (GString) list = g_string_new (NULL);

      for (guint i = 0; i < daemon->config->seal_pcrs->len; i++)
        g_string_append_printf (list, "%s%u", i ? ", " : "", daemon->config->seal_pcrs->data[i]);
      lk_info ("identity", "secrets are sealed to PCRs %s: changing them makes sealed secrets unrecoverable",
               list->str);
    }
  daemon->key_thumbprint = lk_keystore_get_jwk_thumbprint (keystore, error);
  if (daemon->key_thumbprint == NULL)
    return FALSE;

  lk_info ("identity", "%s device key %s (%s, %s backend)", created ? "created" : "loaded",
           daemon->key_thumbprint, lk_keystore_get_algorithm (keystore),
           lk_key_backend_to_string (backend));
  daemon->keystore = g_steal_pointer (&keystore);
  return TRUE;
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

  r = lk_authz_watch_bus (bus);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot follow callers on the %s: %s",
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

const char *
lk_daemon_get_key_thumbprint (LkDaemon *daemon)
{
  return daemon->key_thumbprint;
}

const char *
lk_daemon_get_key_algorithm (LkDaemon *daemon)
{
  return lk_keystore_get_algorithm (daemon->keystore);
}

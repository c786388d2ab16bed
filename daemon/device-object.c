/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "authz.h"
#include "device-object.h"
#include "latchkey-names.h"
#include "log.h"
#include "message-ids.h"

#define CHECK_READ(m, member, error)                                                       \
  do {                                                                                     \
    int _r = lk_authz_check ((m), LK_DEVICE_INTERFACE, (member), NULL, (error));           \
    if (_r < 0)                                                                            \
      return _r;                                                                           \
  } while (0)

static int
get_version (sd_bus *bus, const char *path, const char *interface, const char *property,
             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  CHECK_READ (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", PACKAGE_VERSION);
}

static int
get_state (sd_bus *bus, const char *path, const char *interface, const char *property,
           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkDaemon *daemon = userdata;

  CHECK_READ (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", lk_device_state_to_string (lk_daemon_get_state (daemon)));
}

static int
get_key_backend (sd_bus *bus, const char *path, const char *interface, const char *property,
                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkDaemon *daemon = userdata;

  CHECK_READ (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s",
                                lk_key_backend_to_string (lk_daemon_get_config (daemon)->key_backend));
}

static int
get_key_algorithm (sd_bus *bus, const char *path, const char *interface, const char *property,
                   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkDaemon *daemon = userdata;

  CHECK_READ (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", lk_daemon_get_key_algorithm (daemon));
}

static int
get_key_thumbprint (sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkDaemon *daemon = userdata;

  CHECK_READ (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", lk_daemon_get_key_thumbprint (daemon));
}

static int
get_log_level (sd_bus *bus, const char *path, const char *interface, const char *property,
               sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  CHECK_READ (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", lk_log_level_to_string (lk_log_get_level ()));
}

static int
method_set_log_level (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  g_autoptr (LkCaller) caller = NULL;
  const char *name;
  LkLogLevel level;
  int r;

  r = lk_authz_check (m, LK_DEVICE_INTERFACE, "SetLogLevel", &caller, error);
  if (r < 0)
    return r;

  r = sd_bus_message_read (m, "s", &name);
  if (r < 0)
    return r;
  if (!lk_log_level_from_string (name, &level))
    {
      g_autofree char *expected = g_strjoinv (", ", (char **) lk_log_level_names);
      return sd_bus_error_setf (error, SD_BUS_ERROR_INVALID_ARGS,
                                "unknown log level “%s” (expected one of: %s)", name, expected);
    }

  lk_log_set_level (level);
  lk_event (G_LOG_LEVEL_MESSAGE, "device", LK_MESSAGE_LOG_LEVEL,
            "log level set to %s by uid %u pid %d", name, (unsigned) caller->uid, (int) caller->pid);

  r = sd_bus_emit_properties_changed (sd_bus_message_get_bus (m), LK_OBJECT_PATH,
                                      LK_DEVICE_INTERFACE, "LogLevel", NULL);
  if (r < 0)
    return r;
  return sd_bus_reply_method_return (m, NULL);
}

/*
 * Every member is SD_BUS_VTABLE_UNPRIVILEGED: sd-bus's own capability
 * check is replaced by lk_authz_check() in each handler.
 */
const sd_bus_vtable lk_device_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_PROPERTY ("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("State", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("KeyBackend", "s", get_key_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("KeyAlgorithm", "s", get_key_algorithm, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("KeyThumbprint", "s", get_key_thumbprint, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("LogLevel", "s", get_log_level, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_METHOD_WITH_NAMES ("SetLogLevel", "s", SD_BUS_PARAM (level), "", ,
                            method_set_log_level, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_VTABLE_END,
};

int
lk_device_object_add (sd_bus *bus, LkDaemon *daemon)
{
  return sd_bus_add_object_vtable (bus, NULL, LK_OBJECT_PATH, LK_DEVICE_INTERFACE,
                                   lk_device_vtable, daemon);
}

void
lk_device_object_emit_state (sd_bus *bus)
{
  int r = sd_bus_emit_properties_changed (bus, LK_OBJECT_PATH, LK_DEVICE_INTERFACE, "State", NULL);

  if (r < 0)
    lk_warning ("device", "cannot signal the new state: %s", g_strerror (-r));
}

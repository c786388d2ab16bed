/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "authz.h"
#include "bus-open.h"
#include "error.h"
#include "latchkey-names.h"
#include "log.h"
#include "message-ids.h"
#include "pairing-object.h"

#define CHECK(m, member, error)                                                            \
  do {                                                                                     \
    int _r = lk_authz_check ((m), LK_PAIRING_INTERFACE, (member), NULL, (error));          \
    if (_r < 0)                                                                            \
      return _r;                                                                           \
  } while (0)

static const LkDeviceAuthorization *
current_code (LkDaemon *daemon)
{
  LkPairing *pairing = lk_daemon_get_pairing (daemon);

  return pairing != NULL ? lk_pairing_get_authorization (pairing) : NULL;
}

static int
get_state (sd_bus *bus, const char *path, const char *interface, const char *property,
           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkPairing *pairing = lk_daemon_get_pairing (userdata);

  CHECK (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s",
                                lk_pairing_state_to_string (pairing ? lk_pairing_get_state (pairing)
                                                                    : LK_PAIRING_IDLE));
}

/* The code's strings, "" when no code is out. */
static int
get_code_string (sd_bus *bus, const char *path, const char *interface, const char *property,
                 sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  const LkDeviceAuthorization *code = current_code (userdata);
  const char *value = NULL;

  CHECK (sd_bus_get_current_message (bus), property, error);
  if (code != NULL && g_str_equal (property, "UserCode"))
    value = code->user_code;
  else if (code != NULL && g_str_equal (property, "VerificationUri"))
    value = code->verification_uri;
  else if (code != NULL && g_str_equal (property, "VerificationUriComplete"))
    value = code->verification_uri_complete;
  return sd_bus_message_append (reply, "s", value ? value : "");
}

static int
get_expires_at (sd_bus *bus, const char *path, const char *interface, const char *property,
                sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkPairing *pairing = lk_daemon_get_pairing (userdata);

  CHECK (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "t", (uint64_t) (pairing ? lk_pairing_get_expires_at (pairing) : 0));
}

static int
get_failure (sd_bus *bus, const char *path, const char *interface, const char *property,
             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  LkPairing *pairing = lk_daemon_get_pairing (userdata);
  const GError *failure = pairing ? lk_pairing_get_failure (pairing) : NULL;

  CHECK (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", failure ? failure->message : "");
}

static int
get_owner (sd_bus *bus, const char *path, const char *interface, const char *property,
           sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  const LkGrant *grant = lk_daemon_get_grant (userdata);

  CHECK (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "s", grant ? grant->owner_name : "");
}

static int
method_start (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkPairing *pairing = lk_daemon_get_pairing (userdata);
  g_autoptr (LkCaller) caller = NULL;
  g_autoptr (GError) gerror = NULL;
  int r;

  r = lk_authz_check (m, LK_PAIRING_INTERFACE, "Start", &caller, error);
  if (r < 0)
    return r;
  if (pairing == NULL)
    return sd_bus_error_set (error, LK_DBUS_ERROR_FAILED, "pairing is not configured ([Pairing] Issuer)");
  if (!lk_pairing_start (pairing, &gerror))
    {
      if (g_error_matches (gerror, LK_ERROR, LK_ERROR_RATE_LIMITED))
        lk_event (G_LOG_LEVEL_WARNING, "pairing", LK_MESSAGE_PAIRING_RATE_LIMITED,
                  "pairing refused to uid %u pid %d unit %s: %s", (unsigned) caller->uid, (int) caller->pid,
                  caller->unit ? caller->unit : "-", gerror->message);
      return lk_error_to_sd_bus (gerror, error);
    }
  lk_event (G_LOG_LEVEL_MESSAGE, "pairing", LK_MESSAGE_PAIRING_STARTED, "pairing started by uid %u pid %d unit %s",
            (unsigned) caller->uid, (int) caller->pid, caller->unit ? caller->unit : "-");
  return sd_bus_reply_method_return (m, NULL);
}

static int
method_cancel (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkPairing *pairing = lk_daemon_get_pairing (userdata);
  g_autoptr (GError) gerror = NULL;

  CHECK (m, "Cancel", error);
  if (pairing == NULL)
    return sd_bus_error_set (error, LK_DBUS_ERROR_FAILED, "pairing is not configured ([Pairing] Issuer)");
  if (!lk_pairing_cancel (pairing, &gerror))
    return lk_error_to_sd_bus (gerror, error);
  return sd_bus_reply_method_return (m, NULL);
}

static int
get_token_expires_at (sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
  CHECK (sd_bus_get_current_message (bus), property, error);
  return sd_bus_message_append (reply, "t", (uint64_t) lk_daemon_get_token_expires_at (userdata));
}

/* @user_data: the Unpair call, answered once the server has had its say. */
static void
on_unpaired (GObject *source, GAsyncResult *result, gpointer user_data)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *m = user_data;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autoptr (GError) gerror = NULL;
  gboolean revoked = FALSE;
  int r;

  if (lk_daemon_unpair_finish (result, &revoked, &gerror))
    r = sd_bus_reply_method_return (m, "b", revoked);
  else
    {
      lk_error_to_sd_bus (gerror, &error);
      r = sd_bus_reply_method_error (m, &error);
    }
  if (r < 0)
    lk_warning ("pairing", "cannot answer Unpair: %s", g_strerror (-r));
}

static int
method_unpair (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  CHECK (m, "Unpair", error);
  lk_daemon_unpair_async (userdata, on_unpaired, sd_bus_message_ref (m));
  return 1;
}

/* As on Device, lk_authz_check() in each handler replaces sd-bus's own check. */
const sd_bus_vtable lk_pairing_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_PROPERTY ("State", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("UserCode", "s", get_code_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("VerificationUri", "s", get_code_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("VerificationUriComplete", "s", get_code_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("ExpiresAt", "t", get_expires_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Failure", "s", get_failure, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Owner", "s", get_owner, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("TokenExpiresAt", "t", get_token_expires_at, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_METHOD ("Start", "", "", method_start, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD ("Cancel", "", "", method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("Unpair", "", , "b", SD_BUS_PARAM (revoked), method_unpair,
                            SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_VTABLE_END,
};

int
lk_pairing_object_add (sd_bus *bus, LkDaemon *daemon)
{
  return sd_bus_add_object_vtable (bus, NULL, LK_OBJECT_PATH, LK_PAIRING_INTERFACE, lk_pairing_vtable, daemon);
}

void
lk_pairing_object_emit_changed (sd_bus *bus)
{
  int r = sd_bus_emit_properties_changed (bus, LK_OBJECT_PATH, LK_PAIRING_INTERFACE, "State", "UserCode",
                                          "VerificationUri", "VerificationUriComplete", "ExpiresAt", "Failure",
                                          "Owner", "TokenExpiresAt", NULL);

  if (r < 0)
    lk_warning ("pairing", "cannot signal the pairing's change: %s", g_strerror (-r));
}

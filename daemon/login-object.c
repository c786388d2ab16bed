/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "authz.h"
#include "bus-open.h"
#include "bus-options.h"
#include "error.h"
#include "latchkey-names.h"
#include "log.h"
#include "login-object.h"

/* The logins, or an error saying why there are none. */
static LkLogins *
get_logins (LkDaemon *daemon, sd_bus_error *error)
{
  LkLogins *logins = lk_daemon_get_logins (daemon);

  if (logins == NULL)
    sd_bus_error_set (error, LK_DBUS_ERROR_PREFIX "Config", "console login is not configured ([Login] in latchkey.conf)");
  return logins;
}

static void
reply_error (sd_bus_message *m, const GError *gerror, const char *member)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  int r;

  lk_error_to_sd_bus (gerror, &error);
  r = sd_bus_reply_method_error (m, &error);
  if (r < 0)
    lk_warning ("login", "cannot answer %s: %s", member, g_strerror (-r));
}

static void
on_begun (GObject *source, GAsyncResult *result, gpointer user_data)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *m = user_data;
  g_autoptr (LkLoginCode) code = NULL;
  g_autoptr (GError) gerror = NULL;
  int r;

  code = lk_logins_begin_finish (result, &gerror);
  if (code == NULL)
    {
      reply_error (m, gerror, "Begin");
      return;
    }
  r = sd_bus_reply_method_return (m, "sssst", code->id, code->verification_uri,
                                  code->verification_uri_complete ? code->verification_uri_complete : "",
                                  code->user_code, (uint64_t) code->expires_at);
  if (r < 0)
    lk_warning ("login", "cannot answer Begin: %s", g_strerror (-r));
}

static int
method_begin (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkLogins *logins;
  const char *user, *service, *tty = "";
  int r;

  r = lk_authz_check (m, LK_LOGIN_INTERFACE, "Begin", NULL, error);
  if (r < 0)
    return r;
  r = sd_bus_message_read (m, "ss", &user, &service);
  if (r >= 0)
    r = lk_bus_read_string_option (m, "tty", &tty, error);
  if (r < 0)
    return r;
  if (*user == '\0' || *service == '\0')
    return sd_bus_error_set (error, SD_BUS_ERROR_INVALID_ARGS, "a login needs a user and a service");
  logins = get_logins (userdata, error);
  if (logins == NULL)
    return -EIO;
  lk_logins_begin_async (logins, user, service, *tty ? tty : "-", sd_bus_message_get_sender (m), on_begun,
                         sd_bus_message_ref (m));
  return 1;
}

/*
 * What Wait, Cancel and CheckAccount begin with: the caller's right to call
 * @member, the user (CheckAccount's, when @user is not NULL) and login id
 * it passed, and the logins that know that id. A negative return fails the
 * method.
 */
static int
prepare_login_call (sd_bus_message *m, LkDaemon *daemon, const char *member, const char **user, const char **id,
                    LkLogins **logins, sd_bus_error *error)
{
  int r;

  r = lk_authz_check (m, LK_LOGIN_INTERFACE, member, NULL, error);
  if (r >= 0 && user != NULL)
    r = sd_bus_message_read (m, "s", user);
  if (r >= 0)
    r = sd_bus_message_read (m, "s", id);
  if (r < 0)
    return r;
  *logins = get_logins (daemon, error);
  return *logins != NULL ? 0 : -EIO;
}

static void
on_decided (GObject *source, GAsyncResult *result, gpointer user_data)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *m = user_data;
  g_autoptr (GError) gerror = NULL;
  g_autofree char *identity = NULL;
  int r;

  identity = lk_logins_wait_finish (result, &gerror);
  if (identity == NULL)
    {
      reply_error (m, gerror, "Wait");
      return;
    }
  r = sd_bus_reply_method_return (m, "s", identity);
  if (r < 0)
    lk_warning ("login", "cannot answer Wait: %s", g_strerror (-r));
}

static int
method_wait (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkLogins *logins;
  const char *id;
  int r;

  r = prepare_login_call (m, userdata, "Wait", NULL, &id, &logins, error);
  if (r < 0)
    return r;
  lk_logins_wait_async (logins, id, sd_bus_message_get_sender (m), on_decided, sd_bus_message_ref (m));
  return 1;
}

static int
method_cancel (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  g_autoptr (GError) gerror = NULL;
  LkLogins *logins;
  const char *id;
  int r;

  r = prepare_login_call (m, userdata, "Cancel", NULL, &id, &logins, error);
  if (r < 0)
    return r;
  if (!lk_logins_cancel (logins, id, sd_bus_message_get_sender (m), &gerror))
    return lk_error_to_sd_bus (gerror, error);
  return sd_bus_reply_method_return (m, "");
}

static int
method_check_account (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  g_autoptr (GError) gerror = NULL;
  LkLogins *logins;
  const char *user, *id;
  int r;

  r = prepare_login_call (m, userdata, "CheckAccount", &user, &id, &logins, error);
  if (r < 0)
    return r;
  if (!lk_logins_check_account (logins, user, id, &gerror))
    {
      lk_notice ("login", "account check of %s failed: %s", user, gerror->message);
      return lk_error_to_sd_bus (gerror, error);
    }
  return sd_bus_reply_method_return (m, "");
}

/* A login's caller that leaves the bus (a killed login prompt) takes its login with it. */
static int
on_name_owner_changed (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkLogins *logins = lk_daemon_get_logins (userdata);
  const char *name, *old_owner, *new_owner;

  if (logins == NULL || sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) < 0)
    return 0;
  if (*name == ':' && *new_owner == '\0')
    lk_logins_forget_owner (logins, name);
  return 0;
}

/* As on Device, lk_authz_check() in each handler replaces sd-bus's own check. */
const sd_bus_vtable lk_login_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD_WITH_NAMES ("Begin",
                            "ssa{sv}", SD_BUS_PARAM (user) SD_BUS_PARAM (service) SD_BUS_PARAM (options),
                            "sssst",
                            SD_BUS_PARAM (login_id) SD_BUS_PARAM (verification_uri)
                              SD_BUS_PARAM (verification_uri_complete) SD_BUS_PARAM (user_code)
                              SD_BUS_PARAM (expires_at),
                            method_begin, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("Wait", "s", SD_BUS_PARAM (login_id), "s", SD_BUS_PARAM (identity),
                            method_wait, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("Cancel", "s", SD_BUS_PARAM (login_id), "", ,
                            method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("CheckAccount", "ss", SD_BUS_PARAM (user) SD_BUS_PARAM (login_id), "", ,
                            method_check_account, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_VTABLE_END,
};

int
lk_login_object_add (sd_bus *bus, LkDaemon *daemon)
{
  int r;

  r = sd_bus_match_signal (bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "NameOwnerChanged", on_name_owner_changed, daemon);
  if (r < 0)
    return r;
  return sd_bus_add_object_vtable (bus, NULL, LK_OBJECT_PATH, LK_LOGIN_INTERFACE, lk_login_vtable, daemon);
}

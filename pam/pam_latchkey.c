/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pam_latchkey: console login approved on a phone, through latchkeyd's
 * io.latchkey.Agent1.Login interface. sd-bus only: no GLib, no threads,
 * nothing that outlives a call. Each call opens its own bus connection
 * (never one inherited across fork()), and whatever cannot work here
 * (no conversation, no terminal, a remote session, a service not listed,
 * the daemon away) is PAM_AUTHINFO_UNAVAIL at once, so that the rest of
 * the stack decides.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <systemd/sd-bus.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "qr-text.h"

#define PUBLIC __attribute__((visibility ("default")))
#define DEFAULT_TIMEOUT 120
#define DEFAULT_SERVICES "login"
#define LOGIN_DATA "pam_latchkey_login_id"

static inline void
freep (void *p)
{
  free (*(void **) p);
}

typedef struct {
  unsigned timeout;        /* seconds */
  const char *services;    /* comma-separated */
  bool debug;
} Args;

static int
parse_args (pam_handle_t *pamh, int argc, const char **argv, Args *args)
{
  args->timeout = DEFAULT_TIMEOUT;
  args->services = DEFAULT_SERVICES;
  args->debug = false;
  for (int i = 0; i < argc; i++)
    {
      if (strncmp (argv[i], "timeout=", 8) == 0)
        {
          char *end;
          unsigned long value;

          errno = 0;
          value = strtoul (argv[i] + 8, &end, 10);
          if (errno != 0 || *end != '\0' || end == argv[i] + 8 || value < 1 || value > 3600)
            {
              pam_syslog (pamh, LOG_ERR, "bad argument %s: seconds from 1 to 3600", argv[i]);
              return -EINVAL;
            }
          args->timeout = (unsigned) value;
        }
      else if (strncmp (argv[i], "services=", 9) == 0)
        args->services = argv[i] + 9;
      else if (strcmp (argv[i], "debug") == 0)
        args->debug = true;
      else
        {
          pam_syslog (pamh, LOG_ERR, "unknown argument %s", argv[i]);
          return -EINVAL;
        }
    }
  return 0;
}

static bool
service_listed (const char *services, const char *service)
{
  size_t length = strlen (service);

  for (const char *p = services; *p != '\0';)
    {
      size_t n = strcspn (p, ",");

      if (n == length && strncmp (p, service, n) == 0)
        return true;
      p += n;
      if (*p == ',')
        p++;
    }
  return false;
}

static const char *
item (pam_handle_t *pamh, int type)
{
  const void *value = NULL;

  if (pam_get_item (pamh, type, &value) != PAM_SUCCESS)
    return NULL;
  return value;
}

/*
 * Whether this is a login we may run: one at a terminal, with someone to
 * talk to, on this machine, for a service the administrator listed.
 * Returns PAM_SUCCESS, or why not (logged).
 */
static int
check_context (pam_handle_t *pamh, const Args *args, const char **ret_service, const char **ret_tty)
{
  const struct pam_conv *conv = NULL;
  const char *service = item (pamh, PAM_SERVICE);
  const char *tty = item (pamh, PAM_TTY);
  const char *rhost = item (pamh, PAM_RHOST);

  if (pam_get_item (pamh, PAM_CONV, (const void **) &conv) != PAM_SUCCESS || conv == NULL || conv->conv == NULL)
    {
      pam_syslog (pamh, LOG_NOTICE, "no conversation function: not for an interactive login");
      return PAM_AUTHINFO_UNAVAIL;
    }
  if (rhost != NULL && *rhost != '\0')
    {
      pam_syslog (pamh, LOG_NOTICE, "remote login from %s: not for this module", rhost);
      return PAM_AUTHINFO_UNAVAIL;
    }
  if (tty == NULL || *tty == '\0')
    {
      pam_syslog (pamh, LOG_NOTICE, "no terminal: not an interactive login");
      return PAM_AUTHINFO_UNAVAIL;
    }
  if (service == NULL || !service_listed (args->services, service))
    {
      pam_syslog (pamh, LOG_NOTICE, "service %s is not in services=%s", service ? service : "(none)",
                  args->services);
      return PAM_AUTHINFO_UNAVAIL;
    }
  *ret_service = service;
  *ret_tty = tty;
  return PAM_SUCCESS;
}

/* The PAM result of a daemon error. */
static int
pam_code_of (const sd_bus_error *error)
{
  static const struct {
    const char *name;
    int code;
  } codes[] = {
    { LK_DBUS_ERROR_PREFIX "Denied", PAM_AUTH_ERR },
    { LK_DBUS_ERROR_PREFIX "NotAllowed", PAM_AUTH_ERR },
    { LK_DBUS_ERROR_PREFIX "LockedOut", PAM_AUTH_ERR },
    { LK_DBUS_ERROR_PREFIX "Expired", PAM_AUTH_ERR },
    { LK_DBUS_ERROR_PREFIX "Protocol", PAM_AUTH_ERR },
  };

  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (sd_bus_error_has_name (error, codes[i].name))
      return codes[i].code;
  /* The daemon away, unpaired, unconfigured, busy or offline: let the stack decide. */
  return PAM_AUTHINFO_UNAVAIL;
}

static bool
daemon_absent (const sd_bus_error *error)
{
  return sd_bus_error_has_name (error, SD_BUS_ERROR_SERVICE_UNKNOWN)
         || sd_bus_error_has_name (error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)
         || sd_bus_error_has_name (error, SD_BUS_ERROR_NO_REPLY)
         || sd_bus_error_has_name (error, SD_BUS_ERROR_DISCONNECTED);
}

static int report (pam_handle_t *pamh, int code, const char *format, ...) __attribute__((format (printf, 3, 4)));

static int
report (pam_handle_t *pamh, int code, const char *format, ...)
{
  char text[512];
  va_list ap;

  va_start (ap, format);
  vsnprintf (text, sizeof text, format, ap);
  va_end (ap);
  pam_syslog (pamh, code == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE, "%s", text);
  pam_error (pamh, "latchkey: %s", text);
  return code;
}

/* The one message of a login: where to approve it, the code, a QR code to get there. */
static int
show_code (pam_handle_t *pamh, const char *user, const char *uri, const char *uri_complete, const char *code,
           uint64_t expires_at)
{
  _cleanup_ (freep) char *qr = lk_qr_text (*uri_complete ? uri_complete : uri);
  time_t now = time (NULL);
  long minutes = expires_at > (uint64_t) now ? (long) ((expires_at - (uint64_t) now + 59) / 60) : 0;

  return pam_info (pamh, "To log in as %s, open %s on your phone and enter the code %s, "
                         "or scan this code (valid for %ld min):\n%s",
                   user, uri, code, minutes, qr ? qr : "");
}

typedef struct {
  bool done;
  bool daemon_gone;
  int code;
  char *identity;
  const char *daemon_owner;   /* the unique name that answered Begin */
  sd_bus_error error;
} Waiting;

static int
on_wait_reply (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  Waiting *w = userdata;
  const char *identity;

  w->done = true;
  if (sd_bus_message_is_method_error (m, NULL))
    {
      sd_bus_error_copy (&w->error, sd_bus_message_get_error (m));
      return 0;
    }
  if (sd_bus_message_read (m, "s", &identity) >= 0)
    w->identity = strdup (identity);
  return 0;
}

static int
on_owner_changed (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  Waiting *w = userdata;
  const char *name, *old_owner, *new_owner;

  if (sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) < 0)
    return 0;
  if (strcmp (name, LK_BUS_NAME) == 0 && strcmp (old_owner, w->daemon_owner) == 0)
    w->daemon_gone = true;
  return 0;
}

static uint64_t
now_usec (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void
free_data (pam_handle_t *pamh, void *data, int error_status)
{
  free (data);
}

static int
authenticate (pam_handle_t *pamh, const Args *args, const char *user, const char *service, const char *tty)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *call = NULL;
  _cleanup_ (sd_bus_slot_unrefp) sd_bus_slot *match = NULL, *slot = NULL;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (freep) char *id = NULL;
  const char *login_id, *uri, *uri_complete, *code;
  Waiting w = { .error = SD_BUS_ERROR_NULL };
  uint64_t expires_at, deadline;
  int r;

  r = lk_bus_open ("system", "pam_latchkey", &bus);
  if (r < 0)
    return report (pamh, PAM_AUTHINFO_UNAVAIL, "cannot reach the system bus: %s", strerror (-r));
  /* Before Begin, so that a restart between Begin and the wait is seen. */
  r = sd_bus_match_signal (bus, &match, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                           "NameOwnerChanged", on_owner_changed, &w);
  if (r < 0)
    return report (pamh, PAM_AUTHINFO_UNAVAIL, "cannot watch the daemon: %s", strerror (-r));

  r = sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_LOGIN_INTERFACE, "Begin", &error, &reply,
                          "ssa{sv}", user, service, 1, "tty", "s", tty);
  if (r < 0)
    {
      if (daemon_absent (&error))
        return report (pamh, PAM_AUTHINFO_UNAVAIL, "the latchkey daemon is not running");
      if (sd_bus_error_has_name (&error, LK_DBUS_ERROR_PREFIX "NotAllowed"))
        return report (pamh, PAM_USER_UNKNOWN, "%s", error.message);
      return report (pamh, pam_code_of (&error), "%s", error.message ? error.message : strerror (-r));
    }
  r = sd_bus_message_read (reply, "sssst", &login_id, &uri, &uri_complete, &code, &expires_at);
  if (r < 0)
    return report (pamh, PAM_AUTHINFO_UNAVAIL, "the daemon's answer is not understood: %s", strerror (-r));
  id = strdup (login_id);
  w.daemon_owner = sd_bus_message_get_sender (reply);
  if (id == NULL || w.daemon_owner == NULL)
    return report (pamh, PAM_BUF_ERR, "out of memory");

  r = show_code (pamh, user, uri, uri_complete, code, expires_at);
  if (r != PAM_SUCCESS)
    {
      (void) sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_LOGIN_INTERFACE, "Cancel", NULL, NULL, "s", id);
      return report (pamh, PAM_CONV_ERR, "the login prompt could not show the code");
    }

  /* Wait answers when the login is decided; our deadline is the module's timeout. */
  deadline = now_usec () + (uint64_t) args->timeout * 1000000ULL;
  r = sd_bus_message_new_method_call (bus, &call, LK_BUS_NAME, LK_OBJECT_PATH, LK_LOGIN_INTERFACE, "Wait");
  if (r >= 0)
    r = sd_bus_message_append (call, "s", id);
  if (r >= 0)
    r = sd_bus_call_async (bus, &slot, call, on_wait_reply, &w, (uint64_t) args->timeout * 1000000ULL + 1000000ULL);
  if (r < 0)
    return report (pamh, PAM_AUTHINFO_UNAVAIL, "cannot wait for the login: %s", strerror (-r));
  while (!w.done && !w.daemon_gone)
    {
      uint64_t now = now_usec ();

      if (now >= deadline)
        break;
      r = sd_bus_process (bus, NULL);
      if (r < 0)
        break;
      if (r == 0)
        (void) sd_bus_wait (bus, deadline - now);
    }

  if (w.daemon_gone)
    r = report (pamh, PAM_AUTHINFO_UNAVAIL, "the latchkey daemon stopped during the login");
  else if (!w.done)
    {
      (void) sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_LOGIN_INTERFACE, "Cancel", NULL, NULL, "s", id);
      r = report (pamh, PAM_AUTHINFO_UNAVAIL, "the login was not approved within %u s", args->timeout);
    }
  else if (sd_bus_error_is_set (&w.error))
    r = report (pamh, daemon_absent (&w.error) ? PAM_AUTHINFO_UNAVAIL : pam_code_of (&w.error), "%s",
                w.error.message ? w.error.message : w.error.name);
  else if (w.identity == NULL)
    r = report (pamh, PAM_AUTHINFO_UNAVAIL, "the daemon's answer is not understood");
  else
    {
      pam_syslog (pamh, LOG_INFO, "%s logged in as %s", w.identity, user);
      r = pam_set_data (pamh, LOGIN_DATA, id, free_data);
      if (r == PAM_SUCCESS)
        id = NULL;
    }
  free (w.identity);
  sd_bus_error_free (&w.error);
  return r;
}

PUBLIC int
pam_sm_authenticate (pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  const char *user = NULL, *service = NULL, *tty = NULL;
  Args args;
  int r;

  if (parse_args (pamh, argc, argv, &args) < 0)
    return PAM_SERVICE_ERR;
  r = check_context (pamh, &args, &service, &tty);
  if (r != PAM_SUCCESS)
    return r;
  r = pam_get_user (pamh, &user, NULL);
  if (r != PAM_SUCCESS || user == NULL || *user == '\0')
    return PAM_USER_UNKNOWN;
  return authenticate (pamh, &args, user, service, tty);
}

PUBLIC int
pam_sm_setcred (pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  return PAM_SUCCESS;
}

PUBLIC int
pam_sm_acct_mgmt (pam_handle_t *pamh, int flags, int argc, const char **argv)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  const void *id = NULL;
  const char *user = NULL;
  Args args;
  int r;

  if (parse_args (pamh, argc, argv, &args) < 0)
    return PAM_SERVICE_ERR;
  /* Only the logins this module authenticated are its to check. */
  if (pam_get_data (pamh, LOGIN_DATA, &id) != PAM_SUCCESS || id == NULL)
    return PAM_IGNORE;
  r = pam_get_user (pamh, &user, NULL);
  if (r != PAM_SUCCESS || user == NULL)
    return PAM_USER_UNKNOWN;
  r = lk_bus_open ("system", "pam_latchkey", &bus);
  if (r < 0)
    return report (pamh, PAM_PERM_DENIED, "cannot reach the system bus: %s", strerror (-r));
  r = sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, LK_LOGIN_INTERFACE, "CheckAccount", &error, NULL,
                          "ss", user, (const char *) id);
  if (r < 0)
    return report (pamh, PAM_PERM_DENIED, "%s",
                   daemon_absent (&error) ? "the latchkey daemon is not running" : error.message);
  return PAM_SUCCESS;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "authz.h"
#include "bus-open.h"
#include "error.h"
#include "latchkey-names.h"
#include "log.h"
#include "message-ids.h"

static const struct {
  const char *interface;
  const char *member;
  LkPermission permission;
} rules[] = {
  { LK_DEVICE_INTERFACE, "Version",     LK_PERMISSION_READ_STATUS },
  { LK_DEVICE_INTERFACE, "State",       LK_PERMISSION_READ_STATUS },
  { LK_DEVICE_INTERFACE, "KeyBackend",  LK_PERMISSION_READ_STATUS },
  { LK_DEVICE_INTERFACE, "KeyAlgorithm", LK_PERMISSION_READ_STATUS },
  { LK_DEVICE_INTERFACE, "KeyThumbprint", LK_PERMISSION_READ_STATUS },
  { LK_DEVICE_INTERFACE, "LogLevel",    LK_PERMISSION_READ_STATUS },
  { LK_DEVICE_INTERFACE, "SetLogLevel", LK_PERMISSION_ADMIN },
  /* The code is on the display for anyone in the room; starting and ending pairings is not. */
  { LK_PAIRING_INTERFACE, "State", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "UserCode", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "VerificationUri", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "VerificationUriComplete", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "ExpiresAt", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "Failure", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "Owner", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "TokenExpiresAt", LK_PERMISSION_READ_STATUS },
  { LK_PAIRING_INTERFACE, "Start", LK_PERMISSION_ADMIN },
  { LK_PAIRING_INTERFACE, "Cancel", LK_PERMISSION_ADMIN },
  { LK_PAIRING_INTERFACE, "Unpair", LK_PERMISSION_ADMIN },
  /* Any app may ask; what it gets is for its policy in apps.d to say. */
  { LK_TOKENS_INTERFACE, "GetToken", LK_PERMISSION_APP },
  { LK_TOKENS_INTERFACE, "CreateProof", LK_PERMISSION_APP },
  { LK_TOKENS_INTERFACE, "ReloadPolicy", LK_PERMISSION_ADMIN },
  /*
   * A login's outcome opens a session as any local user: only what opens
   * sessions (PAM in login, sshd, display managers) runs as root. The admin
   * group manages the device, it must not log people in, nor make
   * approval requests pop up on members' phones.
   */
  { LK_LOGIN_INTERFACE, "Begin", LK_PERMISSION_LOGIN },
  { LK_LOGIN_INTERFACE, "Wait", LK_PERMISSION_LOGIN },
  { LK_LOGIN_INTERFACE, "Cancel", LK_PERMISSION_LOGIN },
  { LK_LOGIN_INTERFACE, "CheckAccount", LK_PERMISSION_LOGIN },
  { LK_CERTIFICATE_INTERFACE, "State", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "Subject", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "Issuer", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "Serial", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "NotBefore", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "NotAfter", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "NextAttempt", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "Failure", LK_PERMISSION_READ_STATUS },
  { LK_CERTIFICATE_INTERFACE, "Enroll", LK_PERMISSION_ADMIN },
  { LK_CERTIFICATE_INTERFACE, "Renew", LK_PERMISSION_ADMIN },
  /* The chain is public, but who uses the device's identity is for apps.d to say. */
  { LK_CERTIFICATE_INTERFACE, "GetChain", LK_PERMISSION_APP },
};

static gboolean have_admin_group;
static gid_t admin_gid;

void
lk_caller_free (LkCaller *caller)
{
  if (caller == NULL)
    return;
  g_free (caller->unit);
  g_free (caller->sender);
  g_free (caller);
}

gboolean
lk_authz_lookup (const char *interface, const char *member, LkPermission *ret_permission)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    if (strcmp (rules[i].interface, interface) == 0 && strcmp (rules[i].member, member) == 0)
      {
        *ret_permission = rules[i].permission;
        return TRUE;
      }
  return FALSE;
}

gboolean
lk_authz_set_admin_group (const char *group, GError **error)
{
  struct group *gr;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (group == NULL)
    {
      have_admin_group = FALSE;
      return TRUE;
    }

  errno = 0;
  gr = getgrnam (group);
  if (gr == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "admin group “%s”: %s", group,
                   errno != 0 ? g_strerror (errno) : "no such group");
      return FALSE;
    }
  admin_gid = gr->gr_gid;
  have_admin_group = TRUE;
  return TRUE;
}

/*
 * Group membership comes from the user database, not from the caller's
 * process: a process cannot add itself to a group, and /proc of a pid
 * may by now belong to someone else.
 */
static gboolean
uid_in_admin_group (uid_t uid)
{
  g_autofree char *buf = NULL;
  g_autofree gid_t *groups = NULL;
  struct passwd pw, *result = NULL;
  long size = sysconf (_SC_GETPW_R_SIZE_MAX);
  int n_groups = 64;

  if (!have_admin_group)
    return FALSE;

  buf = g_malloc (size > 0 ? (gsize) size : 16384);
  if (getpwuid_r (uid, &pw, buf, size > 0 ? (gsize) size : 16384, &result) != 0 || result == NULL)
    return FALSE;
  if (pw.pw_gid == admin_gid)
    return TRUE;

  groups = g_new (gid_t, n_groups);
  while (getgrouplist (pw.pw_name, pw.pw_gid, groups, &n_groups) < 0)
    groups = g_renew (gid_t, groups, n_groups);

  for (int i = 0; i < n_groups; i++)
    if (groups[i] == admin_gid)
      return TRUE;
  return FALSE;
}

gboolean
lk_authz_permits (LkPermission permission, uid_t uid)
{
  switch (permission)
    {
    case LK_PERMISSION_READ_STATUS:
    case LK_PERMISSION_APP:
      return TRUE;
    case LK_PERMISSION_ADMIN:
      return uid == 0 || uid_in_admin_group (uid);
    case LK_PERMISSION_LOGIN:
      return uid == 0;
    }
  return FALSE;
}

/*
 * What the bus says of a connection (uid and pid from SO_PEERCRED at
 * connect time) does not change while it lives, and unique names are never
 * reused: each caller is asked of the bus once, and forgotten when its
 * connection goes (NameOwnerChanged). Bounded, so a flood of short-lived
 * connections costs a refill, not memory.
 */
#define CALLER_CACHE_MAX 1024

static GHashTable *callers;  /* unique name → LkCaller */

static LkCaller *
caller_copy (const LkCaller *caller)
{
  LkCaller *copy = g_new0 (LkCaller, 1);

  copy->uid = caller->uid;
  copy->pid = caller->pid;
  copy->unit = g_strdup (caller->unit);
  copy->sender = g_strdup (caller->sender);
  return copy;
}

static int
on_name_owner_changed (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  const char *name, *old_owner, *new_owner;

  if (sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) < 0)
    return 0;
  if (callers != NULL && *new_owner == '\0')
    g_hash_table_remove (callers, name);
  return 0;
}

int
lk_authz_watch_bus (sd_bus *bus)
{
  if (callers == NULL)
    callers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) lk_caller_free);
  return sd_bus_match_signal (bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL);
}

static int
query_caller_uncached (sd_bus_message *m, LkCaller **ret_caller)
{
  _cleanup_ (sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
  g_autoptr (LkCaller) caller = g_new0 (LkCaller, 1);
  const char *unit = NULL;
  int r;

  /*
   * The uid and pid come from the bus daemon (SO_PEERCRED of the caller's
   * connection); sd-bus reports dbus-daemon's UnixUserID as the EUID (the
   * UID it can only read from the caller's /proc/PID/status, which the
   * unit's ProtectProc hides for other users' processes). Only the unit,
   * used for policy and logs, is read from /proc by AUGMENT.
   */
  r = sd_bus_query_sender_creds (m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_UNIT
                                    | SD_BUS_CREDS_AUGMENT, &creds);
  if (r < 0)
    return r;
  r = sd_bus_creds_get_euid (creds, &caller->uid);
  if (r < 0)
    return r;
  r = sd_bus_creds_get_pid (creds, &caller->pid);
  if (r < 0)
    return r;
  if (sd_bus_creds_get_unit (creds, &unit) >= 0)
    caller->unit = g_strdup (unit);
  caller->sender = g_strdup (sd_bus_message_get_sender (m));

  *ret_caller = g_steal_pointer (&caller);
  return 0;
}

static int
query_caller (sd_bus_message *m, LkCaller **ret_caller)
{
  const char *sender = sd_bus_message_get_sender (m);
  LkCaller *cached = NULL;
  LkCaller *caller = NULL;
  int r;

  if (callers != NULL && sender != NULL)
    cached = g_hash_table_lookup (callers, sender);
  if (cached != NULL)
    {
      *ret_caller = caller_copy (cached);
      return 0;
    }

  r = query_caller_uncached (m, &caller);
  if (r < 0)
    return r;

  if (callers != NULL && sender != NULL)
    {
      if (g_hash_table_size (callers) >= CALLER_CACHE_MAX)
        g_hash_table_remove_all (callers);
      g_hash_table_insert (callers, g_strdup (sender), caller_copy (caller));
    }
  *ret_caller = caller;
  return 0;
}

int
lk_authz_check (sd_bus_message *m,
                const char *interface,
                const char *member,
                LkCaller **ret_caller,
                sd_bus_error *ret_error)
{
  g_autoptr (LkCaller) caller = NULL;
  LkPermission permission;
  gboolean known;
  int r;

  /*
   * No message: sd-bus is reading a property for a PropertiesChanged
   * signal of ours, which every listener receives. Only what anyone may
   * read may be announced that way.
   */
  if (m == NULL)
    {
      if (lk_authz_lookup (interface, member, &permission) && permission == LK_PERMISSION_READ_STATUS)
        return 0;
      return sd_bus_error_setf (ret_error, SD_BUS_ERROR_ACCESS_DENIED, "%s.%s: not to be broadcast",
                                interface, member);
    }

  r = query_caller (m, &caller);
  if (r < 0)
    {
      lk_warning ("authz", "%s.%s: cannot identify caller %s: %s", interface, member,
                  sd_bus_message_get_sender (m), g_strerror (-r));
      return sd_bus_error_setf (ret_error, SD_BUS_ERROR_ACCESS_DENIED,
                                "%s.%s: cannot identify the caller", interface, member);
    }

  known = lk_authz_lookup (interface, member, &permission);
  if (!known || !lk_authz_permits (permission, caller->uid))
    {
      lk_event (G_LOG_LEVEL_WARNING, "authz", LK_MESSAGE_ACCESS_DENIED,
                "denied %s.%s to uid %u pid %d unit %s (%s)", interface, member,
                (unsigned) caller->uid, (int) caller->pid, caller->unit ? caller->unit : "-",
                known ? "permission not held" : "not in the authorization table");
      return sd_bus_error_setf (ret_error, SD_BUS_ERROR_ACCESS_DENIED,
                                "%s.%s: access denied", interface, member);
    }

  if (ret_caller != NULL)
    *ret_caller = g_steal_pointer (&caller);
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/*
 * Default-deny authorization. One table (daemon/authz.c) maps every
 * method and property of every interface to the permission it needs; a
 * member not in the table is refused. Each handler asks before it acts,
 * with the caller identified from the bus at call time, never from what
 * the caller says.
 */

typedef enum {
  LK_PERMISSION_READ_STATUS,  /* any local caller */
  LK_PERMISSION_ADMIN,        /* root or a member of [Daemon] AdminGroup */
  LK_PERMISSION_APP,          /* any local caller: the method matches it to an app policy */
  LK_PERMISSION_LOGIN,        /* root alone: the PAM stacks of login, sshd, display managers */
} LkPermission;

/* Who called, as the bus saw it. */
typedef struct {
  uid_t uid;
  pid_t pid;
  char *unit;      /* systemd unit of the caller, NULL when it has none */
  char *sender;    /* unique bus name */
} LkCaller;

void lk_caller_free (LkCaller *caller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkCaller, lk_caller_free)

/*
 * Follows connections leaving @bus, so that what is known of a caller is
 * forgotten with its connection. Until called, callers are asked of the
 * bus at every call.
 */
int lk_authz_watch_bus (sd_bus *bus);

/* The permission @interface.@member needs; FALSE when it is not in the table. */
gboolean lk_authz_lookup (const char *interface, const char *member, LkPermission *ret_permission);

/* Sets the admin group by name; NULL for root only. */
gboolean lk_authz_set_admin_group (const char *group, GError **error);

/*
 * Checks that the sender of @m may use @interface.@member; with @m NULL
 * (a property read for a signal of ours), that everyone may. Returns 0 and
 * the caller in @ret_caller (optional), or a negative errno with
 * @ret_error set to org.freedesktop.DBus.Error.AccessDenied. Denials are
 * logged as security events.
 */
int lk_authz_check (sd_bus_message *m,
                    const char *interface,
                    const char *member,
                    LkCaller **ret_caller,
                    sd_bus_error *ret_error);

/* Whether a caller with @uid holds @permission (exposed for tests). */
gboolean lk_authz_permits (LkPermission permission, uid_t uid);

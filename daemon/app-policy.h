/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

/*
 * What each local app may ask the daemon for: latchkey-apps.d(5), one file
 * per app. A caller no policy matches gets nothing (deny by default).
 */

typedef struct {
  char *name;            /* file name without ".conf" */
  char *path;
  char *unit;            /* NULL: any unit */
  gboolean match_uid;
  uid_t uid;             /* when match_uid */
  GStrv scopes;          /* allowed; empty only with device_certificate */
  GStrv resources;       /* allowed, possibly empty (never NULL) */
  gboolean require_dpop;
  gboolean device_certificate;  /* may read the device certificate chain */
} LkAppPolicy;

typedef struct _LkAppPolicies LkAppPolicies;

/*
 * Loads every *.conf of @dir in name order. A missing directory is no
 * policy at all (deny everything), not an error. Each rejected file adds
 * one LK_ERROR_CONFIG GError to *@ret_problems (a GPtrArray of GError*,
 * owned by the caller, freed with g_error_free: the array is created with
 * that free function when *@ret_problems is NULL, else appended to) whose
 * message names the file and what is wrong; other I/O errors on @dir itself
 * (not readable) are returned as the function's error (LK_ERROR_CONFIG,
 * NULL return, *@ret_problems untouched).
 */
LkAppPolicies *lk_app_policies_load (const char *dir, GPtrArray **ret_problems, GError **error);
void lk_app_policies_free (LkAppPolicies *policies);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkAppPolicies, lk_app_policies_free)
guint lk_app_policies_count (LkAppPolicies *policies);

/*
 * The policy for a caller: the most specific match (Unit and User both
 * given and matching beats Unit alone, which beats User alone); NULL when
 * none matches (deny by default). @unit may be NULL (caller not in a unit).
 */
const LkAppPolicy *lk_app_policies_match (LkAppPolicies *policies, uid_t uid, const char *unit);

/*
 * Whether @policy allows every scope of @scopes (a NULL-terminated array,
 * non-empty); when not, @ret_denied (nullable) points at the first scope it
 * does not allow.
 */
gboolean lk_app_policy_allows_scopes (const LkAppPolicy *policy, const char *const *scopes, const char **ret_denied);
/* Whether @policy allows @resource (NULL: no resource, always allowed). */
gboolean lk_app_policy_allows_resource (const LkAppPolicy *policy, const char *resource);

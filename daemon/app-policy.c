/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app-policy.h"
#include "config-schema.h"
#include "error.h"

#define GROUP "App"
#define SUFFIX ".conf"
/* RFC 6749 sets no bound; ours keeps a scope list and its log lines readable. */
#define SCOPE_MAX 128
/* systemd's UNIT_NAME_MAX, less the terminating NUL. */
#define UNIT_NAME_MAX 255

struct _LkAppPolicies {
  GPtrArray *policies;  /* LkAppPolicy*, in file name order */
};

static const LkConfigKey schema[] = {
  { GROUP, "Unit",        LK_CONFIG_STRING },
  { GROUP, "User",        LK_CONFIG_STRING },
  { GROUP, "Scopes",      LK_CONFIG_STRING },
  { GROUP, "Resources",   LK_CONFIG_STRING },
  { GROUP, "RequireDPoP", LK_CONFIG_BOOLEAN },
  { GROUP, "DeviceCertificate", LK_CONFIG_BOOLEAN },
};

static void
app_policy_free (LkAppPolicy *policy)
{
  if (policy == NULL)
    return;
  g_free (policy->name);
  g_free (policy->path);
  g_free (policy->unit);
  g_strfreev (policy->scopes);
  g_strfreev (policy->resources);
  g_free (policy);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkAppPolicy, app_policy_free)

/*
 * The caller's unit comes from its cgroup, and an app's processes run in
 * a service or a scope: a name that can never be one would never match,
 * and a policy that silently matches nothing is a typo nobody notices.
 */
static gboolean
unit_name_is_valid (const char *unit)
{
  if (strlen (unit) > UNIT_NAME_MAX)
    return FALSE;
  for (const char *p = unit; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (":-_.\\@", *p) == NULL)
      return FALSE;
  return g_str_has_suffix (unit, ".service") || g_str_has_suffix (unit, ".scope");
}

/* RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static gboolean
scope_is_valid (const char *scope)
{
  gsize length = strlen (scope);

  if (length == 0 || length > SCOPE_MAX)
    return FALSE;
  for (const guchar *p = (const guchar *) scope; *p != '\0'; p++)
    if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
      return FALSE;
  return TRUE;
}

/*
 * RFC 6749 separates scopes by single spaces; runs of spaces are forgiven
 * here because they cannot be mistaken for anything else.
 */
static GStrv
split_words (const char *value)
{
  g_auto (GStrv) items = g_strsplit (value, " ", -1);
  g_autoptr (GStrvBuilder) words = g_strv_builder_new ();

  for (gsize i = 0; items[i] != NULL; i++)
    if (*items[i] != '\0')
      g_strv_builder_add (words, items[i]);
  return g_strv_builder_end (words);
}

static gboolean
parse_scopes (GKeyFile *kf, const char *path, LkAppPolicy *policy, GError **error)
{
  g_autofree char *value = g_key_file_get_string (kf, GROUP, "Scopes", NULL);

  /* An app that only uses the device certificate needs no token. */
  if (value == NULL && policy->device_certificate)
    {
      policy->scopes = g_new0 (char *, 1);
      return TRUE;
    }
  if (value == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s] Scopes: missing", path, GROUP);
      return FALSE;
    }
  /* The schema refused an empty value and GKeyFile strips leading blanks: there is a first word. */
  policy->scopes = split_words (value);
  for (gsize i = 0; policy->scopes[i] != NULL; i++)
    if (!scope_is_valid (policy->scopes[i]))
      {
        g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                     "%s: [%s] Scopes: “%s” is not a scope (1 to %u printable ASCII characters, not \" or \\)",
                     path, GROUP, policy->scopes[i], SCOPE_MAX);
        return FALSE;
      }
  return TRUE;
}

/*
 * RFC 8707 section 2: a resource is an absolute URI without a fragment.
 * Tokens travel to it, so only https. Requests are later compared with
 * the listed strings exactly.
 */
static gboolean
check_resource (const char *path, const char *resource, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (resource, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                   "%s: [%s] Resources: “%s” is not an absolute https URI", path, GROUP, resource);
      return FALSE;
    }
  if (g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                   "%s: [%s] Resources: “%s” has a fragment", path, GROUP, resource);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_resources (GKeyFile *kf, const char *path, LkAppPolicy *policy, GError **error)
{
  g_autofree char *value = g_key_file_get_string (kf, GROUP, "Resources", NULL);

  policy->resources = split_words (value != NULL ? value : "");
  for (gsize i = 0; policy->resources[i] != NULL; i++)
    if (!check_resource (path, policy->resources[i], error))
      return FALSE;
  return TRUE;
}

/*
 * A number is a uid as it is (an app may run as a DynamicUser= that the
 * user database knows only while it runs); a name must exist now, through
 * NSS, so that a typo is an error rather than a policy for nobody.
 */
static gboolean
resolve_user (const char *path, const char *user, uid_t *ret_uid, GError **error)
{
  g_autofree char *buf = NULL;
  struct passwd pw, *result = NULL;
  long size = sysconf (_SC_GETPW_R_SIZE_MAX);
  guint64 number;
  int r;

  if (g_ascii_string_to_unsigned (user, 10, 0, (uid_t) -2, &number, NULL))
    {
      *ret_uid = (uid_t) number;
      return TRUE;
    }

  buf = g_malloc (size > 0 ? (gsize) size : 16384);
  r = getpwnam_r (user, &pw, buf, size > 0 ? (gsize) size : 16384, &result);
  if (r != 0 || result == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s] User: “%s”: %s", path, GROUP, user,
                   r != 0 ? g_strerror (r) : "no such user");
      return FALSE;
    }
  *ret_uid = pw.pw_uid;
  return TRUE;
}

static gboolean
parse_callers (GKeyFile *kf, const char *path, LkAppPolicy *policy, GError **error)
{
  g_autofree char *user = g_key_file_get_string (kf, GROUP, "User", NULL);

  policy->unit = g_key_file_get_string (kf, GROUP, "Unit", NULL);
  if (policy->unit == NULL && user == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s]: needs Unit=, User= or both", path, GROUP);
      return FALSE;
    }
  if (policy->unit != NULL && !unit_name_is_valid (policy->unit))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                   "%s: [%s] Unit: “%s” is not the name of a systemd service or scope", path, GROUP, policy->unit);
      return FALSE;
    }
  policy->match_uid = user != NULL;
  return user == NULL || resolve_user (path, user, &policy->uid, error);
}

static LkAppPolicy *
app_policy_load (const char *path, const char *name, GError **error)
{
  g_autoptr (LkAppPolicy) policy = g_new0 (LkAppPolicy, 1);
  g_autoptr (GKeyFile) kf = lk_config_schema_load (path, schema, G_N_ELEMENTS (schema), error);

  if (kf == NULL)
    return NULL;
  /* An empty file would otherwise be a policy that matches no one, silently. */
  if (!g_key_file_has_group (kf, GROUP))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s]: missing group", path, GROUP);
      return NULL;
    }
  policy->name = g_strdup (name);
  policy->path = g_strdup (path);
  /* Checked by the schema; absent is false. */
  policy->device_certificate = g_key_file_get_boolean (kf, GROUP, "DeviceCertificate", NULL);
  if (!parse_callers (kf, path, policy, error) ||
      !parse_scopes (kf, path, policy, error) ||
      !parse_resources (kf, path, policy, error))
    return NULL;
  /* Checked by the schema; absent is false. */
  policy->require_dpop = g_key_file_get_boolean (kf, GROUP, "RequireDPoP", NULL);
  return g_steal_pointer (&policy);
}

static gboolean
same_callers (const LkAppPolicy *a, const LkAppPolicy *b)
{
  return g_strcmp0 (a->unit, b->unit) == 0 && a->match_uid == b->match_uid &&
         (!a->match_uid || a->uid == b->uid);
}

/* Two policies for the same callers would make the answer depend on which one the lookup meets first. */
static gboolean
check_unique (LkAppPolicies *policies, const LkAppPolicy *policy, GError **error)
{
  for (guint i = 0; i < policies->policies->len; i++)
    {
      const LkAppPolicy *other = g_ptr_array_index (policies->policies, i);

      if (same_callers (policy, other))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [%s]: the same Unit= and User= as %s",
                       policy->path, GROUP, other->path);
          return FALSE;
        }
    }
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The *.conf names of @dir that are not hidden, in byte order (not the locale's: the same everywhere). */
static GPtrArray *
list_policy_files (const char *dir, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local_error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&names);
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: cannot read app policies: %s",
                   dir, local_error->message);
      return NULL;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.' && g_str_has_suffix (name, SUFFIX))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

/* Loads one file into @policies, or says why not. Directories (sub.conf/) are not files: skipped. */
static void
load_file (LkAppPolicies *policies, const char *dir, const char *file_name, GPtrArray *problems)
{
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autofree char *name = g_strndup (file_name, strlen (file_name) - strlen (SUFFIX));
  g_autoptr (LkAppPolicy) policy = NULL;
  GError *error = NULL;
  struct stat st;

  if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
    return;
  policy = app_policy_load (path, name, &error);
  if (policy == NULL || !check_unique (policies, policy, &error))
    {
      g_ptr_array_add (problems, error);
      return;
    }
  g_ptr_array_add (policies->policies, g_steal_pointer (&policy));
}

LkAppPolicies *
lk_app_policies_load (const char *dir, GPtrArray **ret_problems, GError **error)
{
  g_autoptr (LkAppPolicies) policies = NULL;
  g_autoptr (GPtrArray) names = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (ret_problems != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  names = list_policy_files (dir, error);
  if (names == NULL)
    return NULL;

  policies = g_new0 (LkAppPolicies, 1);
  policies->policies = g_ptr_array_new_with_free_func ((GDestroyNotify) app_policy_free);
  /* The caller always gets an array to look at, even when nothing was wrong. */
  if (*ret_problems == NULL)
    *ret_problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  for (guint i = 0; i < names->len; i++)
    load_file (policies, dir, g_ptr_array_index (names, i), *ret_problems);
  return g_steal_pointer (&policies);
}

void
lk_app_policies_free (LkAppPolicies *policies)
{
  if (policies == NULL)
    return;
  g_ptr_array_unref (policies->policies);
  g_free (policies);
}

guint
lk_app_policies_count (LkAppPolicies *policies)
{
  g_return_val_if_fail (policies != NULL, 0);
  return policies->policies->len;
}

/* How specifically @policy names the caller: 0 when it does not match, else more is narrower. */
static guint
match_rank (const LkAppPolicy *policy, uid_t uid, const char *unit)
{
  if (policy->unit != NULL && g_strcmp0 (policy->unit, unit) != 0)
    return 0;
  if (policy->match_uid && policy->uid != uid)
    return 0;
  /* A unit is one program; a user may run several: Unit alone is narrower than User alone. */
  return (policy->unit != NULL ? 2 : 0) + (policy->match_uid ? 1 : 0);
}

const LkAppPolicy *
lk_app_policies_match (LkAppPolicies *policies, uid_t uid, const char *unit)
{
  const LkAppPolicy *best = NULL;
  guint best_rank = 0;

  g_return_val_if_fail (policies != NULL, NULL);

  /* Each rank has at most one match: check_unique() refused policies for the same callers. */
  for (guint i = 0; i < policies->policies->len; i++)
    {
      const LkAppPolicy *policy = g_ptr_array_index (policies->policies, i);
      guint rank = match_rank (policy, uid, unit);

      if (rank > best_rank)
        {
          best = policy;
          best_rank = rank;
        }
    }
  return best;
}

gboolean
lk_app_policy_allows_scopes (const LkAppPolicy *policy, const char *const *scopes, const char **ret_denied)
{
  g_return_val_if_fail (policy != NULL, FALSE);
  g_return_val_if_fail (scopes != NULL && scopes[0] != NULL, FALSE);

  for (gsize i = 0; scopes[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *) policy->scopes, scopes[i]))
      {
        if (ret_denied != NULL)
          *ret_denied = scopes[i];
        return FALSE;
      }
  if (ret_denied != NULL)
    *ret_denied = NULL;
  return TRUE;
}

gboolean
lk_app_policy_allows_resource (const LkAppPolicy *policy, const char *resource)
{
  g_return_val_if_fail (policy != NULL, FALSE);

  return resource == NULL || g_strv_contains ((const char *const *) policy->resources, resource);
}

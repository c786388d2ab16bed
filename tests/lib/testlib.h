/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <systemd/sd-bus.h>

#include "latchkey-names.h"

/*
 * Helpers for tests run by tests/test-env: they find the peers it started
 * in the environment and fail (never skip) when it is missing.
 */

/* A variable set by tests/test-env; aborts the test when it is unset. */
const char *lk_test_env (const char *name);

/* A path in the per-test directory. */
char *lk_test_path (const char *name);

/* A program built in the tree, e.g. "latchkeyd". */
char *lk_test_built (const char *name);

/* Writes @contents to a file in the per-test directory and returns its path. */
char *lk_test_write_file (const char *name, const char *contents);

/*
 * Like lk_test_write_file() for a daemon configuration: unless @config
 * names a TPM (Tcti=), the daemon's TPM is the test's swtpm.
 */
char *lk_test_write_file_with_tpm (const char *name, const char *config);

/* Runs @argv to completion; stdout/stderr returned when asked, exit status returned. */
int lk_test_run (const char *const *argv, char **ret_stdout, char **ret_stderr);

/* Runs the program @name built in the tree with @args (NULL-terminated), like lk_test_run(). */
int lk_test_run_built (const char *name, const char *const *args, char **ret_stdout, char **ret_stderr);

/* A client connection to the test's private system bus. */
sd_bus *lk_test_bus (void);

/* A property (string or uint64) of the running daemon's @interface, as text. */
char *lk_test_property (const char *interface, const char *name);
/* A string property of the running daemon's Device interface. */
#define lk_test_device_property(name) lk_test_property (LK_DEVICE_INTERFACE, (name))

/* Waits up to a minute for @interface.@name to read @value. */
void lk_test_wait_property (const char *interface, const char *name, const char *value);

/* When the owner's access token expires (unix seconds), 0 without one: Pairing.TokenExpiresAt. */
gint64 lk_test_token_expires_at (void);
/* Waits up to a minute for the owner's token to expire later than @than; returns when it does. */
gint64 lk_test_wait_refreshed (gint64 than);

/*
 * Calls @interface.@member on the running daemon, with the string @arg
 * unless NULL, as @uid (-1: as ourselves) through tests/lib/bus-call.
 * Returns "ok" or "error NAME: MESSAGE".
 */
char *lk_test_call (int uid, const char *interface, const char *member, const char *arg);

/* Whether @name has an owner on @bus. */
gboolean lk_test_name_has_owner (sd_bus *bus, const char *name);

typedef struct {
  GSubprocess *process;
  char *log_path;
  char *config_path;
} LkTestDaemon;

/*
 * Starts latchkeyd with @config (file contents, see
 * lk_test_write_file_with_tpm()) on the test's bus and state dir, and waits until it owns its name. Extra command-line arguments may
 * follow, NULL-terminated.
 */
LkTestDaemon *lk_test_daemon_start (const char *config, ...) G_GNUC_NULL_TERMINATED;

/* Waits up to a minute for the daemon's log to hold @text. */
void lk_test_wait_log (LkTestDaemon *daemon, const char *text);

/* Sends SIGTERM and returns the exit status. */
int lk_test_daemon_stop (LkTestDaemon *daemon);

/* What the daemon has written to stderr so far. */
char *lk_test_daemon_log (LkTestDaemon *daemon);

void lk_test_daemon_free (LkTestDaemon *daemon);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTestDaemon, lk_test_daemon_free)

/* The device's client at the tests' OpenID provider: public, device grant and refresh. */
#define LK_TEST_CLIENT_ID "latchkey-test"
#define LK_TEST_CLIENT_MEMBERS "\"client_id\": \"" LK_TEST_CLIENT_ID "\", " \
  "\"token_endpoint_auth_method\": \"none\", " \
  "\"grant_types\": [\"urn:ietf:params:oauth:grant-type:device_code\", \"refresh_token\"], " \
  "\"response_types\": [], \"redirect_uris\": []"
#define LK_TEST_CLIENTS "[{" LK_TEST_CLIENT_MEMBERS "}]"

/* A daemon configuration pairing with @issuer as LK_TEST_CLIENT_ID, trusting @trust_anchors alone. */
char *lk_test_pairing_config (const char *issuer, const char *trust_anchors);

/*
 * For async calls in tests: pass lk_test_on_result with the address of a
 * NULL GAsyncResult pointer, then lk_test_wait_result() on that address
 * runs the main loop until it is filled. The caller unrefs the result.
 */
void lk_test_on_result (GObject *source, GAsyncResult *result, gpointer user_data);
GAsyncResult *lk_test_wait_result (GAsyncResult **slot);

/* A peer started by tests/peer, stopped when freed. */
typedef struct {
  GSubprocess *process;
  GHashTable *facts;
} LkTestPeer;

/* Starts tests/peer @kind in the per-test directory @name, with arguments (NULL-terminated). */
LkTestPeer *lk_test_peer_start (const char *kind, const char *name, ...) G_GNUC_NULL_TERMINATED;

/*
 * Approves (or, with @abort, refuses) a device flow at @verification_uri
 * on @provider as the user @login would on their phone: @phone is the
 * script in tests/oidc that plays the phone, "approve.mjs" (the provider's
 * pages over plain HTTP) or "browser-approve.mjs" (the same pages in
 * headless Chromium). Returns whether the provider confirmed it.
 */
gboolean lk_test_approve_with (LkTestPeer *provider, const char *phone, const char *verification_uri,
                               const char *login, gboolean abort);
/* lk_test_approve_with() the quick phone, approve.mjs. */
gboolean lk_test_approve (LkTestPeer *provider, const char *verification_uri, const char *login, gboolean abort);
/*
 * Pairs the running daemon with @provider: `latchkeyctl pair --no-wait`,
 * approved by @login on the phone; returns once Device.State is "paired".
 */
void lk_test_pair (LkTestPeer *provider, const char *login);

/* lk_test_pairing_config() for the OpenID provider @provider. */
char *lk_test_provider_config (LkTestPeer *provider);
/* A fact the peer printed, e.g. "OIDC_ISSUER"; aborts when it has none. */
const char *lk_test_peer_get (LkTestPeer *peer, const char *key);
void lk_test_peer_free (LkTestPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkTestPeer, lk_test_peer_free)

/* Waits for @process to exit and returns its exit status (-1 if it died on a signal). */
int lk_test_wait (GSubprocess *process);

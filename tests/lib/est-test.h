/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "testlib.h"

/*
 * Helpers for tests against the EST server (tests/est/server.mjs), started
 * with lk_test_peer_start ("est", ...).
 */

/* An [Enrollment] configuration for @est with the given bootstrap lines and more (both may be ""). */
char *lk_est_test_config (LkTestPeer *est, const char *bootstrap, const char *more);
/* The bootstrap lines for HTTP Basic, the password in a file of the test directory. */
char *lk_est_test_basic (LkTestPeer *est);

/* Sets the server's switches (a JSON object's members, e.g. "\"down\": true"). */
void lk_est_test_switch (LkTestPeer *est, const char *members);
/* The server's /log. */
JsonObject *lk_est_test_log (LkTestPeer *est);
/* How many of /log's issued certificates, or requests with @status (0: any), were for @operation. */
guint lk_est_test_count_issued (LkTestPeer *est, const char *operation, const char *auth);
guint lk_est_test_count_requests (LkTestPeer *est, const char *operation, guint status);

/* A file of the state dir, NULL when it does not exist. */
char *lk_est_test_state_file (const char *name);

/* Waits up to a minute for the Certificate property @name to differ from @than; returns it. */
char *lk_est_test_wait_change (const char *name, const char *than);

/*
 * Stops @daemon (SIGTERM) and flushes the TPM's transient objects: a
 * daemon killed by a test leaves them behind on a TPM without a resource
 * manager, and the next one could load no key.
 */
void lk_est_test_stop_daemon (LkTestDaemon *daemon);
/* Empties the state dir: each test starts as a device out of the factory. */
void lk_est_test_clear_state (void);
/* Flushes the TPM's transient objects; nothing may be using it. */
void lk_est_test_flush_tpm (void);

/* Checks that @pem is a chain whose leaf verifies against the CA in @ca_path now. */
void lk_est_test_assert_chain (const char *pem, const char *ca_path);

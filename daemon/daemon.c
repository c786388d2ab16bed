/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#include "authz.h"
#include "bus-open.h"
#include "bus-source.h"
#include "daemon.h"
#include "device-object.h"
#include "enrollment-object.h"
#include "error.h"
#include "grant-keeper.h"
#include "latchkey-names.h"
#include "log.h"
#include "login-object.h"
#include "message-ids.h"
#include "pairing-object.h"
#include "tokens-object.h"
#include "tpm/secret-bytes.h"

struct _LkDaemon {
  LkConfig *config;
  char *state_dir;
  sd_bus *bus;
  GSource *bus_source;
  LkDeviceState state;
  LkKeystore *keystore;
  char *key_thumbprint;
  LkOAuthClient *oauth;       /* NULL without [Pairing] Issuer */
  LkPairing *pairing;
  LkGrant *stored_grant;      /* loaded, until the keeper takes it */
  LkGrantKeeper *keeper;      /* while paired */
  LkTokens *tokens;           /* for apps; after lk_daemon_load_identity() */
  LkLogins *logins;           /* console logins; NULL without [Login] */
  LkEnrollment *enrollment;   /* NULL without [Enrollment] Url */
};

static void drop_keeper (LkDaemon *daemon);

const char *
lk_device_state_to_string (LkDeviceState state)
{
  switch (state)
    {
    case LK_DEVICE_STATE_UNPROVISIONED:
      return "unprovisioned";
    case LK_DEVICE_STATE_PAIRED:
      return "paired";
    }
  g_return_val_if_reached (NULL);
}

LkDaemon *
lk_daemon_new (LkConfig *config, const char *state_dir)
{
  LkDaemon *daemon = g_new0 (LkDaemon, 1);

  daemon->config = config;
  daemon->state_dir = g_strdup (state_dir);
  daemon->state = LK_DEVICE_STATE_UNPROVISIONED;
  return daemon;
}

/*
 * Requests under way (all cancelled by now) hold the OAuth client, and
 * through it the key store: let them finish, a little while at most, so
 * that the key store goes, and with it the TPM objects it loaded. Without a
 * resource manager a TPM keeps them after we exit, and holds only a few.
 */
static gboolean
on_requests_deadline (gpointer user_data)
{
  *(guint *) user_data = 0;
  return G_SOURCE_REMOVE;
}

static void
finish_requests (LkDaemon *daemon)
{
  LkOAuthClient *oauth = g_steal_pointer (&daemon->oauth);
  guint deadline;

  if (oauth == NULL)
    return;
  g_object_add_weak_pointer (G_OBJECT (oauth), (gpointer *) &oauth);
  g_object_unref (oauth);
  deadline = g_timeout_add_seconds (1, on_requests_deadline, &deadline);
  while (oauth != NULL && deadline != 0)
    g_main_context_iteration (NULL, TRUE);
  g_clear_handle_id (&deadline, g_source_remove);
  if (oauth != NULL)
    g_object_remove_weak_pointer (G_OBJECT (oauth), (gpointer *) &oauth);
}

void
lk_daemon_free (LkDaemon *daemon)
{
  if (daemon == NULL)
    return;
  lk_daemon_stop (daemon);
  if (daemon->pairing != NULL)
    {
      g_signal_handlers_disconnect_by_data (daemon->pairing, daemon);
      (void) lk_pairing_cancel (daemon->pairing, NULL);
    }
  g_clear_object (&daemon->pairing);
  drop_keeper (daemon);
  if (daemon->enrollment != NULL)
    {
      g_signal_handlers_disconnect_by_data (daemon->enrollment, daemon);
      lk_enrollment_stop (daemon->enrollment);
    }
  g_clear_object (&daemon->enrollment);
  g_clear_pointer (&daemon->tokens, lk_tokens_unref);
  g_clear_pointer (&daemon->logins, lk_logins_free);
  finish_requests (daemon);
  lk_config_free (daemon->config);
  g_clear_pointer (&daemon->stored_grant, lk_grant_free);
  g_clear_pointer (&daemon->keystore, lk_keystore_unref);
  g_free (daemon->key_thumbprint);
  g_free (daemon->state_dir);
  g_free (daemon);
}

gboolean
lk_daemon_load_identity (LkDaemon *daemon, GError **error)
{
  LkKeystoreBackend backend = daemon->config->key_backend;
  g_autoptr (LkKeystore) keystore = NULL;
  g_autoptr (GError) local_error = NULL;
  gboolean created = FALSE;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (backend == LK_KEYSTORE_SOFTWARE)
    lk_warning ("identity", "KeyBackend=software keeps the device key in a file of %s: "
                "for tests and machines without a TPM only, never for a shipped device",
                daemon->state_dir);

  keystore = lk_keystore_open (backend, daemon->state_dir, daemon->config->tcti, error);
  if (keystore == NULL
      || !lk_keystore_set_seal_pcrs (keystore, daemon->config->seal_pcrs->data, daemon->config->seal_pcrs->len,
                                     error)
      || !lk_keystore_ensure_device_key (keystore, &created, error))
    return FALSE;
  if (daemon->config->seal_pcrs->len > 0)
    {
      g_autoptr (GString) list = g_string_new (NULL);

      for (guint i = 0; i < daemon->config->seal_pcrs->len; i++)
        g_string_append_printf (list, "%s%u", i ? ", " : "", daemon->config->seal_pcrs->data[i]);
      lk_info ("identity", "secrets are sealed to PCRs %s: changing them makes sealed secrets unrecoverable",
               list->str);
    }
  daemon->key_thumbprint = lk_keystore_get_jwk_thumbprint (keystore, error);
  if (daemon->key_thumbprint == NULL)
    return FALSE;

  lk_info ("identity", "%s device key %s (%s, %s backend)", created ? "created" : "loaded",
           daemon->key_thumbprint, lk_keystore_get_algorithm (keystore),
           lk_key_backend_to_string (backend));
  daemon->keystore = g_steal_pointer (&keystore);

  if (daemon->config->est_url != NULL)
    {
      daemon->enrollment = lk_enrollment_new (daemon->config, lk_keystore_get_tpm_context (daemon->keystore),
                                              daemon->state_dir, error);
      if (daemon->enrollment == NULL)
        return FALSE;
    }

  /* A grant that cannot be read leaves the device unpaired, not without identity. */
  daemon->stored_grant = lk_grant_load (daemon->keystore, daemon->state_dir, &local_error);
  if (local_error != NULL)
    lk_warning ("pairing", "the stored grant is unusable, pair again: %s", local_error->message);
  return TRUE;
}

static void
set_state (LkDaemon *daemon, LkDeviceState state)
{
  daemon->state = state;
  if (daemon->bus != NULL)
    lk_device_object_emit_state (daemon->bus);
}

static void
emit_pairing_changed (LkDaemon *daemon)
{
  if (daemon->bus != NULL)
    lk_pairing_object_emit_changed (daemon->bus);
}

static void
drop_keeper (LkDaemon *daemon)
{
  if (daemon->keeper == NULL)
    return;
  g_signal_handlers_disconnect_by_data (daemon->keeper, daemon);
  lk_grant_keeper_stop (daemon->keeper);
  g_clear_object (&daemon->keeper);
  if (daemon->tokens != NULL)
    lk_tokens_set_keeper (daemon->tokens, NULL);
}

static void
on_keeper_changed (LkGrantKeeper *keeper, gpointer user_data)
{
  emit_pairing_changed (user_data);
}

static void
on_keeper_revoked (LkGrantKeeper *keeper, const GError *reason, gpointer user_data)
{
  LkDaemon *daemon = user_data;
  g_autoptr (GError) error = NULL;

  lk_event (G_LOG_LEVEL_WARNING, "grant", LK_MESSAGE_GRANT_REVOKED, "%s: the device is unpaired",
            reason->message);
  if (!lk_grant_wipe (daemon->state_dir, &error))
    lk_warning ("grant", "%s", error->message);
  drop_keeper (daemon);
  set_state (daemon, LK_DEVICE_STATE_UNPROVISIONED);
  emit_pairing_changed (daemon);
}

/* Keeps @grant alive from now on; @tokens (nullable) are those it came with. */
static void
keep_grant (LkDaemon *daemon, LkGrant *grant, const LkTokenResponse *tokens)
{
  drop_keeper (daemon);
  daemon->keeper = lk_grant_keeper_new (daemon->oauth, daemon->keystore, daemon->state_dir, grant,
                                        daemon->config->refresh_margin);
  g_signal_connect (daemon->keeper, "changed", G_CALLBACK (on_keeper_changed), daemon);
  g_signal_connect (daemon->keeper, "revoked", G_CALLBACK (on_keeper_revoked), daemon);
  lk_grant_keeper_start (daemon->keeper, tokens);
  lk_tokens_set_keeper (daemon->tokens, daemon->keeper);
}

static gboolean
on_pairing_approved (const LkTokenResponse *tokens, gpointer user_data, GError **error)
{
  LkDaemon *daemon = user_data;
  g_autoptr (LkGrant) grant = lk_grant_new (daemon->config->pairing_issuer, tokens->refresh_token,
                                            tokens->id_token, error);

  if (grant == NULL || !lk_grant_store (grant, daemon->keystore, daemon->state_dir, error))
    {
      g_prefix_error (error, "approved, but the grant cannot be kept: ");
      return FALSE;
    }
  lk_event (G_LOG_LEVEL_MESSAGE, "pairing", LK_MESSAGE_PAIRING_APPROVED, "paired with %s (sub %s) at %s%s",
            grant->owner_name, grant->owner_subject, grant->issuer,
            g_strcmp0 (tokens->token_type, "DPoP") == 0 ? ", tokens bound to the device key" : "");
  keep_grant (daemon, g_steal_pointer (&grant), tokens);
  set_state (daemon, LK_DEVICE_STATE_PAIRED);
  return TRUE;
}

static void
on_pairing_changed (LkPairing *pairing, gpointer user_data)
{
  LkDaemon *daemon = user_data;
  const GError *failure;

  emit_pairing_changed (daemon);
  failure = lk_pairing_get_failure (pairing);
  switch (lk_pairing_get_state (pairing))
    {
    case LK_PAIRING_DENIED:
      lk_event (G_LOG_LEVEL_MESSAGE, "pairing", LK_MESSAGE_PAIRING_DENIED, "pairing denied: %s", failure->message);
      break;
    case LK_PAIRING_EXPIRED:
      lk_event (G_LOG_LEVEL_MESSAGE, "pairing", LK_MESSAGE_PAIRING_EXPIRED, "pairing expired: %s", failure->message);
      break;
    case LK_PAIRING_CANCELLED:
    case LK_PAIRING_FAILED:
      lk_event (G_LOG_LEVEL_WARNING, "pairing", LK_MESSAGE_PAIRING_ENDED, "pairing %s: %s",
                lk_pairing_state_to_string (lk_pairing_get_state (pairing)), failure->message);
      break;
    case LK_PAIRING_APPROVED:
    case LK_PAIRING_IDLE:
    case LK_PAIRING_STARTING:
    case LK_PAIRING_WAITING:
      break;
    }
}

/* The stored grant, if it is of the configured server, is the owner's from now on. */
static void
resume_grant (LkDaemon *daemon)
{
  g_autoptr (LkGrant) grant = g_steal_pointer (&daemon->stored_grant);

  if (grant == NULL)
    return;
  if (daemon->oauth == NULL || g_strcmp0 (grant->issuer, daemon->config->pairing_issuer) != 0)
    {
      lk_warning ("pairing", "the stored grant is of %s, but [Pairing] Issuer is %s: pair again", grant->issuer,
                  daemon->config->pairing_issuer ? daemon->config->pairing_issuer : "not set");
      return;
    }
  lk_info ("pairing", "paired with %s at %s", grant->owner_name, grant->issuer);
  keep_grant (daemon, g_steal_pointer (&grant), NULL);
  daemon->state = LK_DEVICE_STATE_PAIRED;
}

static void
on_enrollment_changed (LkEnrollment *enrollment, gpointer user_data)
{
  LkDaemon *daemon = user_data;

  if (daemon->bus != NULL)
    lk_enrollment_object_emit_changed (daemon->bus);
}

static gboolean
create_tokens (LkDaemon *daemon, GError **error)
{
  LkTokensConfig config = {
    .policy_dir = daemon->config->policy_dir,
    .cache_margin = daemon->config->cache_margin,
    .rate_per_minute = daemon->config->rate_per_minute,
    .rate_burst = daemon->config->rate_burst,
  };

  daemon->tokens = lk_tokens_new (&config, daemon->keystore);
  return lk_tokens_reload (daemon->tokens, NULL, NULL, error);
}

/* The local users [Login] names, sorted, space-separated; "none" for none. */
static char *
login_users (const LkConfig *config)
{
  g_autoptr (GList) users = g_hash_table_get_keys (config->login_allow);
  g_autoptr (GString) text = g_string_new (NULL);

  for (gsize i = 0; config->login_owner_users[i] != NULL; i++)
    if (!g_hash_table_contains (config->login_allow, config->login_owner_users[i]))
      users = g_list_prepend (users, config->login_owner_users[i]);
  users = g_list_sort (users, (GCompareFunc) g_strcmp0);
  for (GList *l = users; l != NULL; l = l->next)
    g_string_append_printf (text, "%s%s", text->len > 0 ? " " : "", (const char *) l->data);
  return text->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : g_strdup ("none");
}

/*
 * Who may log in is the part of [Login] a household changes; the rest of
 * the file is read at start. The new lists replace the old between two
 * main loop iterations, so a login under way is decided by one or the other.
 */
static void
reload_login_users (LkDaemon *daemon)
{
  g_autoptr (LkConfig) fresh = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *users = NULL;

  fresh = lk_config_load (daemon->config->path, &error);
  if (fresh == NULL)
    {
      lk_warning ("login", "who may log in is kept as it was: %s", error->message);
      return;
    }
  if (daemon->logins == NULL)
    {
      if (fresh->login_enabled)
        lk_notice ("login", "%s now has [Login]: console login starts when latchkeyd is restarted",
                   daemon->config->path);
      return;
    }
  /* Without [Login] the fresh lists are empty: no one may log in until the restart turns login off. */
  g_hash_table_unref (daemon->config->login_allow);
  daemon->config->login_allow = g_steal_pointer (&fresh->login_allow);
  g_strfreev (daemon->config->login_owner_users);
  daemon->config->login_owner_users = g_steal_pointer (&fresh->login_owner_users);
  users = login_users (daemon->config);
  lk_info ("login", "reread who may log in: local users %s", users);
}

void
lk_daemon_reload (LkDaemon *daemon)
{
  g_autoptr (GError) error = NULL;

  if (!lk_tokens_reload (daemon->tokens, NULL, NULL, &error))
    lk_warning ("tokens", "the app policies are kept as they were: %s", error->message);
  reload_login_users (daemon);
}

static gboolean
create_pairing (LkDaemon *daemon, GError **error)
{
  LkOAuthClientConfig client_config = {
    .issuer = daemon->config->pairing_issuer,
    .client_id = daemon->config->pairing_client_id,
    .trust_anchors = daemon->config->pairing_trust_anchors,
    .client_auth = daemon->config->pairing_client_auth,
    .dpop = daemon->config->pairing_dpop,
  };
  LkPairingConfig config = {
    .scope = daemon->config->pairing_scopes,
    .resources = (const char *const *) daemon->config->pairing_resources,
    .max_attempts_per_hour = daemon->config->pairing_max_per_hour,
    /* RFC 8628 §3.2: a server that names no interval wants 5 seconds. */
    .default_interval = 5,
  };

  if (client_config.issuer == NULL)
    return TRUE;
  daemon->oauth = lk_oauth_client_new (&client_config, daemon->keystore, error);
  if (daemon->oauth == NULL)
    return FALSE;
  daemon->pairing = lk_pairing_new (daemon->oauth, &config, on_pairing_approved, daemon);
  g_signal_connect (daemon->pairing, "changed", G_CALLBACK (on_pairing_changed), daemon);
  return TRUE;
}

static const LkGrant *
get_grant (gpointer user_data)
{
  return lk_daemon_get_grant (user_data);
}

/* Logins use the pairing's provider and client: the same accounts, the same registration. */
static gboolean
create_logins (LkDaemon *daemon, GError **error)
{
  if (!daemon->config->login_enabled)
    return TRUE;
  daemon->logins = lk_logins_new (daemon->config, daemon->oauth, get_grant, daemon, error);
  return daemon->logins != NULL;
}

static void
on_unpair_revoked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (lk_oauth_revoke_finish (result, &error))
    lk_event (G_LOG_LEVEL_MESSAGE, "pairing", LK_MESSAGE_UNPAIRED,
              "unpaired: the owner's grant is deleted and revoked at %s", (const char *) g_task_get_task_data (task));
  else
    lk_event (G_LOG_LEVEL_WARNING, "pairing", LK_MESSAGE_UNPAIRED,
              "unpaired: the owner's grant is deleted, but %s could not revoke it: %s",
              (const char *) g_task_get_task_data (task), error->message);
  g_task_return_boolean (task, error == NULL);
}

void
lk_daemon_unpair_async (LkDaemon *daemon, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GError) error = NULL;
  char *refresh_token = NULL;

  g_task_set_source_tag (task, lk_daemon_unpair_async);
  if (!lk_grant_wipe (daemon->state_dir, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_clear_pointer (&daemon->stored_grant, lk_grant_free);
  if (daemon->keeper != NULL)
    {
      refresh_token = g_strdup (lk_grant_keeper_get_grant (daemon->keeper)->refresh_token);
      g_task_set_task_data (task, g_strdup (lk_grant_keeper_get_grant (daemon->keeper)->issuer), g_free);
      drop_keeper (daemon);
    }
  set_state (daemon, LK_DEVICE_STATE_UNPROVISIONED);
  emit_pairing_changed (daemon);

  if (refresh_token == NULL)
    {
      lk_event (G_LOG_LEVEL_MESSAGE, "pairing", LK_MESSAGE_UNPAIRED, "unpaired: there was no grant to revoke");
      g_task_return_boolean (task, FALSE);
      return;
    }
  /* The local copy is gone whatever the server says: revoking is a courtesy that may fail offline. */
  lk_oauth_revoke_async (daemon->oauth, refresh_token, NULL, on_unpair_revoked, g_steal_pointer (&task));
  lk_tpm_secret_string_free (refresh_token);
}

gboolean
lk_daemon_unpair_finish (GAsyncResult *result, gboolean *ret_revoked, GError **error)
{
  GError *local_error = NULL;
  gboolean revoked;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  revoked = g_task_propagate_boolean (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *ret_revoked = revoked;
  return TRUE;
}

gboolean
lk_daemon_start (LkDaemon *daemon,
                 const char *bus_target,
                 GSourceFunc on_disconnect,
                 gpointer user_data,
                 GError **error)
{
  _cleanup_ (sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
  const char *where = lk_bus_target_describe (bus_target);
  int r;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (daemon->bus == NULL, FALSE);

  r = lk_bus_open (bus_target, "latchkeyd", &bus);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot connect to the %s: %s",
                   where, g_strerror (-r));
      return FALSE;
    }

  r = lk_authz_watch_bus (bus);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot follow callers on the %s: %s",
                   where, g_strerror (-r));
      return FALSE;
    }

  r = lk_device_object_add (bus, daemon);
  if (r >= 0)
    r = lk_pairing_object_add (bus, daemon);
  if (r >= 0)
    r = lk_tokens_object_add (bus, daemon);
  if (r >= 0)
    r = lk_login_object_add (bus, daemon);
  if (r >= 0)
    r = lk_enrollment_object_add (bus, daemon);
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot export %s: %s", LK_OBJECT_PATH, g_strerror (-r));
      return FALSE;
    }
  if (!create_tokens (daemon, error) || !create_pairing (daemon, error) || !create_logins (daemon, error))
    return FALSE;
  resume_grant (daemon);

  /* No queueing and no replacing: a second daemon must fail, not wait. */
  r = sd_bus_request_name (bus, LK_BUS_NAME, 0);
  if (r == -EEXIST || r == -EALREADY)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS,
                   "%s is already owned on the %s: is another latchkeyd running?",
                   LK_BUS_NAME, where);
      return FALSE;
    }
  if (r < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUS, "cannot own %s on the %s: %s",
                   LK_BUS_NAME, where, g_strerror (-r));
      return FALSE;
    }

  daemon->bus_source = lk_bus_source_new (bus, on_disconnect, user_data);
  g_source_attach (daemon->bus_source, NULL);
  daemon->bus = g_steal_pointer (&bus);

  lk_info ("bus", "serving %s on the %s", LK_BUS_NAME, where);
  if (daemon->enrollment != NULL)
    {
      g_signal_connect (daemon->enrollment, "changed", G_CALLBACK (on_enrollment_changed), daemon);
      lk_enrollment_start (daemon->enrollment);
    }
  return TRUE;
}

void
lk_daemon_stop (LkDaemon *daemon)
{
  if (daemon->bus == NULL)
    return;

  g_source_destroy (daemon->bus_source);
  g_clear_pointer (&daemon->bus_source, g_source_unref);
  if (sd_bus_is_open (daemon->bus) > 0)
    (void) sd_bus_release_name (daemon->bus, LK_BUS_NAME);
  daemon->bus = sd_bus_flush_close_unref (daemon->bus);
}

const LkConfig *
lk_daemon_get_config (LkDaemon *daemon)
{
  return daemon->config;
}

LkDeviceState
lk_daemon_get_state (LkDaemon *daemon)
{
  return daemon->state;
}

const char *
lk_daemon_get_key_thumbprint (LkDaemon *daemon)
{
  return daemon->key_thumbprint;
}

LkPairing *
lk_daemon_get_pairing (LkDaemon *daemon)
{
  return daemon->pairing;
}

LkLogins *
lk_daemon_get_logins (LkDaemon *daemon)
{
  return daemon->logins;
}

LkTokens *
lk_daemon_get_tokens (LkDaemon *daemon)
{
  return daemon->tokens;
}

const LkGrant *
lk_daemon_get_grant (LkDaemon *daemon)
{
  return daemon->keeper != NULL ? lk_grant_keeper_get_grant (daemon->keeper) : NULL;
}

gint64
lk_daemon_get_token_expires_at (LkDaemon *daemon)
{
  return daemon->keeper != NULL ? lk_grant_keeper_get_expires_at (daemon->keeper) : 0;
}

const char *
lk_daemon_get_key_algorithm (LkDaemon *daemon)
{
  return lk_keystore_get_algorithm (daemon->keystore);
}

guint64
lk_daemon_get_tpm_commands (LkDaemon *daemon)
{
  LkTpmContext *tpm = lk_keystore_get_tpm_context (daemon->keystore);

  return tpm ? lk_tpm_context_get_command_count (tpm) : 0;
}

LkEnrollment *
lk_daemon_get_enrollment (LkDaemon *daemon)
{
  return daemon->enrollment;
}

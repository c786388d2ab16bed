/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "error.h"
#include "id-token.h"
#include "jose.h"
#include "json-members.h"
#include "jwks.h"
#include "log.h"
#include "login.h"
#include "message-ids.h"
#include "oauth-device.h"

/* RFC 8628 §3.2. */
#define DEFAULT_INTERVAL 5
/* Logins under way at once, for all users: each one polls the provider. */
#define MAX_ACTIVE 16
/* How long a decided login is remembered: for its Wait and its account check. */
#define KEEP_DECIDED_SECONDS 600

typedef enum {
  LOGIN_STARTING,
  LOGIN_WAITING,
  LOGIN_APPROVED,
  LOGIN_FAILED,
} LoginState;

typedef struct {
  LkLogins *logins;
  char *id;
  char *user;
  char *service;
  char *tty;
  char *owner;
  LoginState state;
  GCancellable *cancellable;
  LkDeviceAuthorization *authorization;
  gint64 expires_at;
  guint interval;
  guint poll_source;
  guint expiry_source;
  guint forget_source;
  GTask *begin;                 /* until the code is there */
  GPtrArray *waiters;           /* GTask of lk_logins_wait_async() */
  GError *failure;
  char *identity;               /* the claim value, else sub, once approved */
  char *subject;
  gboolean as_owner;
} Login;

typedef struct {
  GArray *times;                /* monotonic µs of the failures within the window */
  gint64 locked_until;          /* monotonic µs */
} Failures;

struct _LkLogins {
  const LkConfig *config;
  LkOAuthClient *client;
  LkHttp *http;
  LkJwks *jwks;
  LkLoginsGrantFunc get_grant;
  gpointer grant_data;
  GHashTable *logins;           /* id → Login (a reference) */
  GHashTable *failures;         /* user → Failures */
};

static void poll_later (Login *login, guint seconds);

static Login *
login_ref (Login *login)
{
  return g_atomic_rc_box_acquire (login);
}

static void
login_clear (Login *login)
{
  g_clear_object (&login->cancellable);
  g_clear_pointer (&login->authorization, lk_device_authorization_free);
  g_clear_object (&login->begin);
  g_clear_pointer (&login->waiters, g_ptr_array_unref);
  g_clear_error (&login->failure);
  g_free (login->id);
  g_free (login->user);
  g_free (login->service);
  g_free (login->tty);
  g_free (login->owner);
  g_free (login->identity);
  g_free (login->subject);
}

static void
login_unref (Login *login)
{
  g_atomic_rc_box_release_full (login, (GDestroyNotify) login_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Login, login_unref)

static void
failures_free (Failures *failures)
{
  g_array_unref (failures->times);
  g_free (failures);
}

void
lk_login_code_free (LkLoginCode *code)
{
  if (code == NULL)
    return;
  g_free (code->id);
  g_free (code->verification_uri);
  g_free (code->verification_uri_complete);
  g_free (code->user_code);
  g_free (code);
}

static gboolean
in_progress (Login *login)
{
  return login->state == LOGIN_STARTING || login->state == LOGIN_WAITING;
}

/* Whether the login is over for us: decided, or its daemon part shut down. */
static gboolean
gone (Login *login)
{
  return !in_progress (login) || g_cancellable_is_cancelled (login->cancellable);
}

static gboolean
user_configured (LkLogins *self, const char *user)
{
  return g_hash_table_contains (self->config->login_allow, user)
         || g_strv_contains ((const char *const *) self->config->login_owner_users, user);
}

/* Whether @identity (owner or not) may log in as @user, by the configuration as it is now. */
static gboolean
allowed (LkLogins *self, const char *user, const char *identity, gboolean as_owner)
{
  const char *const *list = g_hash_table_lookup (self->config->login_allow, user);

  if (as_owner && g_strv_contains ((const char *const *) self->config->login_owner_users, user))
    return TRUE;
  return identity != NULL && list != NULL && g_strv_contains (list, identity);
}

/* Seconds @user stays locked out, 0 when not. */
static gint64
locked_for (LkLogins *self, const char *user)
{
  Failures *failures = g_hash_table_lookup (self->failures, user);
  gint64 now = g_get_monotonic_time ();

  if (failures == NULL || failures->locked_until <= now)
    return 0;
  return (failures->locked_until - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
}

static void
count_failure (LkLogins *self, Login *login)
{
  Failures *failures = g_hash_table_lookup (self->failures, login->user);
  gint64 now = g_get_monotonic_time ();
  gint64 window = (gint64) self->config->login_failure_window * G_USEC_PER_SEC;

  if (failures == NULL)
    {
      failures = g_new0 (Failures, 1);
      failures->times = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_hash_table_insert (self->failures, g_strdup (login->user), failures);
    }
  while (failures->times->len > 0 && now - g_array_index (failures->times, gint64, 0) >= window)
    g_array_remove_index (failures->times, 0);
  g_array_append_val (failures->times, now);
  if (failures->times->len >= self->config->login_max_failures)
    {
      failures->locked_until = now + (gint64) self->config->login_lockout * G_USEC_PER_SEC;
      g_array_set_size (failures->times, 0);
      lk_event (G_LOG_LEVEL_WARNING, "login", LK_MESSAGE_LOGIN_LOCKED_OUT,
                "%s is locked out of latchkey logins for %u s after %u failed logins within %u s",
                login->user, self->config->login_lockout, self->config->login_max_failures,
                self->config->login_failure_window);
    }
}

static gboolean
on_forget (gpointer user_data)
{
  Login *login = user_data;

  login->forget_source = 0;
  g_hash_table_remove (login->logins->logins, login->id);
  return G_SOURCE_REMOVE;
}

/* Decides @login: approved when @failure (taken) is NULL. */
static void
finish (Login *login, GError *failure)
{
  LkLogins *self = login->logins;

  g_clear_handle_id (&login->poll_source, g_source_remove);
  g_clear_handle_id (&login->expiry_source, g_source_remove);
  /* The device code is worth nothing now, and was a secret. */
  g_clear_pointer (&login->authorization, lk_device_authorization_free);
  login->failure = failure;
  login->state = failure == NULL ? LOGIN_APPROVED : LOGIN_FAILED;

  if (failure == NULL)
    lk_event (G_LOG_LEVEL_MESSAGE, "login", LK_MESSAGE_LOGIN_APPROVED,
              "login %s as %s approved for %s (sub %s)%s", login->id, login->user, login->identity, login->subject,
              login->as_owner ? ", the owner" : "");
  else
    {
      lk_event (G_LOG_LEVEL_MESSAGE, "login", LK_MESSAGE_LOGIN_REFUSED, "login %s as %s refused: %s", login->id,
                login->user, failure->message);
      if (g_error_matches (failure, LK_ERROR, LK_ERROR_DENIED) || g_error_matches (failure, LK_ERROR, LK_ERROR_NOT_ALLOWED)
          || g_error_matches (failure, LK_ERROR, LK_ERROR_PROTOCOL))
        count_failure (self, login);
    }

  if (login->begin != NULL)
    {
      g_autoptr (GTask) begin = g_steal_pointer (&login->begin);

      g_task_return_error (begin, g_error_copy (failure));
    }
  for (guint i = 0; i < login->waiters->len; i++)
    {
      GTask *task = login->waiters->pdata[i];

      if (failure == NULL)
        g_task_return_pointer (task, g_strdup (login->identity), g_free);
      else
        g_task_return_error (task, g_error_copy (failure));
    }
  g_ptr_array_set_size (login->waiters, 0);
  g_cancellable_cancel (login->cancellable);
  login->forget_source = g_timeout_add_seconds (KEEP_DECIDED_SECONDS, on_forget, login);
}

static void
on_revoked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!lk_oauth_revoke_finish (result, &error))
    lk_debug ("login", "the login's refresh token could not be revoked: %s", error->message);
}

/* The approver's identity, from a verified ID token. */
static void
decide (Login *login, JsonObject *claims)
{
  LkLogins *self = login->logins;
  const LkGrant *grant = self->get_grant (self->grant_data);
  const char *value = lk_json_get_string (claims, self->config->login_claim);

  login->subject = g_strdup (lk_json_get_string (claims, "sub"));
  login->identity = g_strdup (value != NULL ? value : login->subject);
  login->as_owner = grant != NULL && g_str_equal (grant->owner_subject, login->subject);
  if (!allowed (self, login->user, value, login->as_owner))
    {
      finish (login, g_error_new (LK_ERROR, LK_ERROR_NOT_ALLOWED, "%s (sub %s) may not log in as %s",
                                  login->identity, login->subject, login->user));
      return;
    }
  finish (login, NULL);
}

static void
verify (Login *login, LkJwt *jwt)
{
  LkLogins *self = login->logins;
  LkIdTokenCheck check = {
    .issuer = lk_oauth_client_get_issuer (self->client),
    .client_id = self->config->pairing_client_id,
    .now = g_get_real_time () / G_USEC_PER_SEC,
    .clock_skew = self->config->login_clock_skew,
  };
  g_autoptr (JsonObject) claims = NULL;
  GError *error = NULL;

  claims = lk_id_token_verify (jwt, self->jwks, &check, &error);
  if (claims == NULL)
    finish (login, error);
  else
    decide (login, claims);
}

typedef struct {
  Login *login;
  LkJwt *jwt;
} Fetch;

static void
on_jwks (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fetch *fetch = user_data;
  g_autoptr (Login) login = fetch->login;
  g_autoptr (LkJwt) jwt = fetch->jwt;
  GError *error = NULL;

  g_free (fetch);
  if (gone (login))
    return;
  if (!lk_jwks_fetch_finish (login->logins->jwks, result, &error))
    {
      g_prefix_error (&error, "the provider's keys: ");
      finish (login, error);
      return;
    }
  verify (login, jwt);
}

/* Verifies the ID token, with the provider's keys fetched again when it was signed by one we do not know. */
static void
check_tokens (Login *login, LkTokenResponse *tokens)
{
  LkLogins *self = login->logins;
  const LkOAuthServer *server = lk_oauth_client_get_server (self->client);
  g_autoptr (LkJwt) jwt = NULL;
  GError *error = NULL;
  Fetch *fetch;

  /* Only the ID token matters: a refresh token, if the server gave one, is given back. */
  if (tokens->refresh_token != NULL)
    lk_oauth_revoke_async (self->client, tokens->refresh_token, NULL, on_revoked, NULL);
  if (tokens->id_token == NULL)
    {
      finish (login, g_error_new_literal (LK_ERROR, LK_ERROR_PROTOCOL, "the provider issued no ID token"));
      return;
    }
  jwt = lk_jwt_parse (tokens->id_token, &error);
  if (jwt == NULL)
    {
      finish (login, error);
      return;
    }
  if (lk_jwt_key_known (jwt, self->jwks))
    {
      verify (login, jwt);
      return;
    }
  if (server == NULL || server->jwks_uri == NULL)
    {
      finish (login, g_error_new_literal (LK_ERROR, LK_ERROR_PROTOCOL, "the provider publishes no jwks_uri"));
      return;
    }
  lk_debug ("login", "fetching the provider's keys from %s", server->jwks_uri);
  fetch = g_new0 (Fetch, 1);
  fetch->login = login_ref (login);
  fetch->jwt = g_steal_pointer (&jwt);
  lk_jwks_fetch_async (self->jwks, self->http, server->jwks_uri, login->cancellable, on_jwks, fetch);
}

static GError *
login_expired_error (void)
{
  return g_error_new_literal (LK_ERROR, LK_ERROR_EXPIRED, "the code expired before the login was approved");
}

static void
on_polled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Login) login = user_data;
  g_autoptr (LkTokenResponse) tokens = NULL;
  GError *error = NULL;
  LkDevicePoll poll;

  if (!lk_oauth_device_poll_finish (result, &poll, &tokens, &error))
    {
      if (gone (login))
        g_error_free (error);
      else if (g_error_matches (error, LK_ERROR, LK_ERROR_NETWORK))
        {
          /* Worth retrying while the code lives: the expiry timer ends it otherwise. */
          lk_warning ("login", "polling for login %s failed, again in %u s: %s", login->id, login->interval,
                      error->message);
          g_error_free (error);
          poll_later (login, login->interval);
        }
      else if (g_error_matches (error, LK_ERROR, LK_ERROR_DENIED))
        {
          g_error_free (error);
          finish (login, g_error_new_literal (LK_ERROR, LK_ERROR_DENIED, "the login was refused on the phone"));
        }
      else if (g_error_matches (error, LK_ERROR, LK_ERROR_EXPIRED))
        {
          /* The server may say so before our own timer does: one message either way. */
          g_error_free (error);
          finish (login, login_expired_error ());
        }
      else
        finish (login, error);
      return;
    }
  if (gone (login))
    return;
  switch (poll)
    {
    case LK_DEVICE_POLL_GRANTED:
      check_tokens (login, tokens);
      return;
    case LK_DEVICE_POLL_SLOW_DOWN:
      login->interval += LK_DEVICE_SLOW_DOWN_STEP;
      break;
    case LK_DEVICE_POLL_PENDING:
      break;
    }
  poll_later (login, login->interval);
}

static gboolean
on_poll_time (gpointer user_data)
{
  Login *login = user_data;

  login->poll_source = 0;
  lk_oauth_device_poll_async (login->logins->client, login->authorization, login->cancellable, on_polled,
                              login_ref (login));
  return G_SOURCE_REMOVE;
}

static void
poll_later (Login *login, guint seconds)
{
  login->poll_source = g_timeout_add_seconds (seconds, on_poll_time, login);
}

static gboolean
on_expired (gpointer user_data)
{
  Login *login = user_data;

  login->expiry_source = 0;
  finish (login, login_expired_error ());
  return G_SOURCE_REMOVE;
}

static void
on_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (Login) login = user_data;
  g_autoptr (LkDeviceAuthorization) authorization = NULL;
  LkLoginCode *code;
  GError *error = NULL;

  authorization = lk_oauth_device_authorize_finish (result, &error);
  if (gone (login))
    {
      g_clear_error (&error);
      return;
    }
  if (authorization == NULL)
    {
      finish (login, error);
      return;
    }
  login->authorization = g_steal_pointer (&authorization);
  login->interval = login->authorization->interval ? login->authorization->interval : DEFAULT_INTERVAL;
  login->expires_at = g_get_real_time () / G_USEC_PER_SEC + login->authorization->expires_in;
  login->expiry_source = g_timeout_add_seconds (login->authorization->expires_in, on_expired, login);
  login->state = LOGIN_WAITING;
  poll_later (login, login->interval);

  code = g_new0 (LkLoginCode, 1);
  code->id = g_strdup (login->id);
  code->verification_uri = g_strdup (login->authorization->verification_uri);
  code->verification_uri_complete = g_strdup (login->authorization->verification_uri_complete);
  code->user_code = g_strdup (login->authorization->user_code);
  code->expires_at = login->expires_at;
  {
    g_autoptr (GTask) begin = g_steal_pointer (&login->begin);

    g_task_return_pointer (begin, code, (GDestroyNotify) lk_login_code_free);
  }
}

static Login *
find_active (LkLogins *self, const char *user)
{
  GHashTableIter iter;
  Login *login;

  g_hash_table_iter_init (&iter, self->logins);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &login))
    if (in_progress (login) && (user == NULL || g_str_equal (login->user, user)))
      return login;
  return NULL;
}

static guint
count_active (LkLogins *self)
{
  GHashTableIter iter;
  Login *login;
  guint count = 0;

  g_hash_table_iter_init (&iter, self->logins);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &login))
    count += in_progress (login);
  return count;
}

void
lk_logins_begin_async (LkLogins *self,
                       const char *user,
                       const char *service,
                       const char *tty,
                       const char *owner,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (Login) login = NULL;
  gint64 locked;

  g_task_set_source_tag (task, lk_logins_begin_async);
  if (self->get_grant (self->grant_data) == NULL)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_NOT_PAIRED, "the device is not paired");
      return;
    }
  if (!user_configured (self, user))
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_NOT_ALLOWED, "no one may log in as %s with latchkey", user);
      return;
    }
  locked = locked_for (self, user);
  if (locked > 0)
    {
      lk_event (G_LOG_LEVEL_WARNING, "login", LK_MESSAGE_LOGIN_LOCKED_OUT,
                "a login as %s (service %s, tty %s) was refused: locked out for %" G_GINT64_FORMAT " more s", user,
                service, tty, locked);
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_LOCKED_OUT,
                               "too many failed logins as %s: try again in %" G_GINT64_FORMAT " s", user, locked);
      return;
    }
  if (find_active (self, user) != NULL)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_BUSY, "a login as %s is already under way", user);
      return;
    }
  if (count_active (self) >= MAX_ACTIVE)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_BUSY, "%u logins are already under way", MAX_ACTIVE);
      return;
    }

  login = g_atomic_rc_box_new0 (Login);
  login->logins = self;
  login->id = lk_jose_random_id ();
  login->user = g_strdup (user);
  login->service = g_strdup (service);
  login->tty = g_strdup (tty);
  login->owner = g_strdup (owner);
  login->state = LOGIN_STARTING;
  login->cancellable = g_cancellable_new ();
  login->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  login->begin = g_steal_pointer (&task);
  g_hash_table_insert (self->logins, login->id, login_ref (login));

  lk_event (G_LOG_LEVEL_MESSAGE, "login", LK_MESSAGE_LOGIN_STARTED, "login %s as %s started (service %s, tty %s)",
            login->id, user, service, tty);
  lk_oauth_device_authorize_async (self->client, self->config->login_scopes, NULL, login->cancellable,
                                   on_authorized, login_ref (login));
}

LkLoginCode *
lk_logins_begin_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The login @id of @owner; others' logins do not exist for it. */
static Login *
find (LkLogins *self, const char *id, const char *owner, GError **error)
{
  Login *login = g_hash_table_lookup (self->logins, id);

  if (login == NULL || (owner != NULL && !g_str_equal (login->owner, owner)))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_ARGS, "no login %s", id);
      return NULL;
    }
  return login;
}

void
lk_logins_wait_async (LkLogins *self,
                      const char *id,
                      const char *owner,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  GError *error = NULL;
  Login *login = find (self, id, owner, &error);

  g_task_set_source_tag (task, lk_logins_wait_async);
  if (login == NULL)
    g_task_return_error (task, error);
  else if (login->state == LOGIN_APPROVED)
    g_task_return_pointer (task, g_strdup (login->identity), g_free);
  else if (login->state == LOGIN_FAILED)
    g_task_return_error (task, g_error_copy (login->failure));
  else
    g_ptr_array_add (login->waiters, g_steal_pointer (&task));
}

char *
lk_logins_wait_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
lk_logins_cancel (LkLogins *self, const char *id, const char *owner, GError **error)
{
  Login *login = find (self, id, owner, error);

  if (login == NULL)
    return FALSE;
  if (!in_progress (login))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_FAILED, "login %s is already decided", id);
      return FALSE;
    }
  finish (login, g_error_new_literal (LK_ERROR, LK_ERROR_CANCELLED, "the login was cancelled"));
  return TRUE;
}

void
lk_logins_forget_owner (LkLogins *self, const char *owner)
{
  GHashTableIter iter;
  Login *login;

  g_hash_table_iter_init (&iter, self->logins);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &login))
    if (in_progress (login) && g_str_equal (login->owner, owner))
      finish (login, g_error_new_literal (LK_ERROR, LK_ERROR_CANCELLED, "the login's caller left the bus"));
}

gboolean
lk_logins_check_account (LkLogins *self, const char *user, const char *id, GError **error)
{
  Login *login = g_hash_table_lookup (self->logins, id);
  const LkGrant *grant = self->get_grant (self->grant_data);
  gint64 locked;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (login == NULL || login->state != LOGIN_APPROVED || !g_str_equal (login->user, user))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_NOT_ALLOWED, "no approved latchkey login %s as %s", id, user);
      return FALSE;
    }
  if (grant == NULL || (login->as_owner && !g_str_equal (grant->owner_subject, login->subject)))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_REVOKED, "the device is no longer paired with the owner who approved");
      return FALSE;
    }
  if (!allowed (self, user, login->identity, login->as_owner))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_NOT_ALLOWED, "%s may no longer log in as %s", login->identity, user);
      return FALSE;
    }
  locked = locked_for (self, user);
  if (locked > 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_LOCKED_OUT, "%s is locked out for %" G_GINT64_FORMAT " more s", user,
                   locked);
      return FALSE;
    }
  return TRUE;
}

static void
drop_login (gpointer data)
{
  Login *login = data;

  /* The daemon stops: whatever is under way ends with it. */
  if (in_progress (login))
    finish (login, g_error_new_literal (LK_ERROR, LK_ERROR_CANCELLED, "the daemon stopped"));
  g_clear_handle_id (&login->forget_source, g_source_remove);
  login_unref (login);
}

LkLogins *
lk_logins_new (const LkConfig *config,
               LkOAuthClient *client,
               LkLoginsGrantFunc get_grant,
               gpointer user_data,
               GError **error)
{
  g_autoptr (LkLogins) self = g_new0 (LkLogins, 1);

  self->config = config;
  self->client = g_object_ref (client);
  self->get_grant = get_grant;
  self->grant_data = user_data;
  self->jwks = lk_jwks_new ();
  self->logins = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, drop_login);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) failures_free);
  self->http = lk_http_new (config->pairing_trust_anchors, error);
  if (self->http == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

void
lk_logins_free (LkLogins *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->logins, g_hash_table_unref);
  g_clear_pointer (&self->failures, g_hash_table_unref);
  lk_jwks_free (self->jwks);
  g_clear_pointer (&self->http, lk_http_free);
  g_clear_object (&self->client);
  g_free (self);
}

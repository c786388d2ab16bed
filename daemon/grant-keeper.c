/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "error.h"
#include "grant-keeper.h"
#include "log.h"
#include "message-ids.h"
#include "tpm/secret-bytes.h"

/* Failed refreshes are retried after 5 s, doubling up to 5 minutes. */
#define RETRY_FIRST_SECONDS 5
#define RETRY_MAX_SECONDS 300
/* A server that does not say how long its tokens live gets an hour. */
#define DEFAULT_LIFETIME_SECONDS 3600

struct _LkGrantKeeper {
  GObject parent;

  LkOAuthClient *client;
  LkKeystore *keystore;
  char *state_dir;
  LkGrant *grant;
  guint refresh_margin;

  GQueue queue;                 /* GTasks waiting for the refresh token */
  GTask *current;               /* the one using it now */
  GCancellable *cancellable;    /* of every request; cancelled by stop */
  gboolean revoked;

  char *access_token;           /* the owner's, secret */
  gint64 expires_at;            /* unix seconds */
  guint refresh_source;
  guint failures;
};

G_DEFINE_FINAL_TYPE (LkGrantKeeper, lk_grant_keeper, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  SIGNAL_REVOKED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

typedef struct {
  char *scope;
  char *resource;
  gboolean background;
} Request;

static void
request_free (Request *request)
{
  g_free (request->scope);
  g_free (request->resource);
  g_free (request);
}

static void refresh_in_background (LkGrantKeeper *self);
static void on_refreshed (GObject *source, GAsyncResult *result, gpointer user_data);

/* Spends the refresh token on the first request in the queue, if none is under way. */
static void
process_queue (LkGrantKeeper *self)
{
  g_autoptr (GPtrArray) form = NULL;
  Request *request;

  if (self->current != NULL || g_queue_is_empty (&self->queue))
    return;
  self->current = g_queue_pop_head (&self->queue);
  request = g_task_get_task_data (self->current);

  form = lk_oauth_form_new ();
  lk_oauth_form_add (form, "grant_type", "refresh_token");
  lk_oauth_form_add (form, "refresh_token", self->grant->refresh_token);
  lk_oauth_form_add (form, "scope", request->scope);
  lk_oauth_form_add (form, "resource", request->resource);
  lk_oauth_token_request_async (self->client, form, self->cancellable, on_refreshed, g_object_ref (self));
}

/* Fails every request waiting in the queue with @error. */
static void
fail_queue (LkGrantKeeper *self, const GError *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->queue)) != NULL)
    {
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }
}

/*
 * Seals @refresh_token, the rotated one, as the grant's. The spent one is
 * worthless now, so the new one is kept in memory even when it cannot be
 * written; the caller must not hand out what came with it then.
 */
static gboolean
keep_rotated (LkGrantKeeper *self, const char *refresh_token, GError **error)
{
  lk_tpm_secret_string_free (self->grant->refresh_token);
  self->grant->refresh_token = g_strdup (refresh_token);
  if (!lk_grant_store (self->grant, self->keystore, self->state_dir, error))
    {
      g_prefix_error (error, "the rotated refresh token cannot be saved: ");
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_refresh_time (gpointer user_data)
{
  LkGrantKeeper *self = user_data;

  self->refresh_source = 0;
  refresh_in_background (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_refresh (LkGrantKeeper *self, guint seconds)
{
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  self->refresh_source = g_timeout_add_seconds (seconds, on_refresh_time, self);
}

/* When to refresh a token that lives @lifetime seconds: a margin before it expires, less jitter. */
static guint
refresh_delay (LkGrantKeeper *self, guint lifetime)
{
  guint delay = lifetime - MIN (self->refresh_margin, lifetime / 2);

  return delay - (guint) g_random_int_range (0, (gint32) (delay / 10) + 1);
}

static void
on_background_refreshed (LkGrantKeeper *self, const LkTokenResponse *tokens, const GError *error)
{
  guint lifetime, delay;

  if (error != NULL)
    {
      delay = MIN (RETRY_FIRST_SECONDS << MIN (self->failures, 16), RETRY_MAX_SECONDS);
      self->failures++;
      lk_event (G_LOG_LEVEL_WARNING, "grant", LK_MESSAGE_REFRESH_FAILED,
                "refreshing the owner's token failed (%u in a row), again in %u s: %s", self->failures, delay,
                error->message);
      schedule_refresh (self, delay);
      return;
    }

  lifetime = tokens->expires_in ? tokens->expires_in : DEFAULT_LIFETIME_SECONDS;
  lk_tpm_secret_string_free (self->access_token);
  self->access_token = g_strdup (tokens->access_token);
  self->expires_at = g_get_real_time () / G_USEC_PER_SEC + lifetime;
  self->failures = 0;
  delay = refresh_delay (self, lifetime);
  lk_event (G_LOG_LEVEL_INFO, "grant", LK_MESSAGE_TOKEN_REFRESHED,
            "the owner's %s token is valid for %u s; next refresh in %u s", tokens->token_type, lifetime, delay);
  schedule_refresh (self, delay);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LkGrantKeeper) self = user_data;
  g_autoptr (GTask) task = g_steal_pointer (&self->current);
  g_autoptr (LkTokenResponse) tokens = NULL;
  g_autofree char *code = NULL;
  g_autoptr (GError) error = NULL;
  Request *request = g_task_get_task_data (task);

  tokens = lk_oauth_token_request_finish (result, &code, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_CANCELLED, "the owner's grant is no longer used");
      return;
    }

  if (g_strcmp0 (code, "invalid_grant") == 0)
    {
      g_autoptr (GError) revoked = g_error_new (LK_ERROR, LK_ERROR_REVOKED,
                                                "the authorization server no longer honours the owner's grant "
                                                "(invalid_grant): it was revoked, or its refresh token replayed");

      self->revoked = TRUE;
      g_clear_handle_id (&self->refresh_source, g_source_remove);
      g_task_return_error (task, g_error_copy (revoked));
      fail_queue (self, revoked);
      g_signal_emit (self, signals[SIGNAL_REVOKED], 0, revoked);
      return;
    }

  if (tokens != NULL && tokens->refresh_token != NULL
      && g_strcmp0 (tokens->refresh_token, self->grant->refresh_token) != 0)
    {
      if (!keep_rotated (self, tokens->refresh_token, &error))
        g_clear_pointer (&tokens, lk_token_response_free);
    }

  if (request->background)
    on_background_refreshed (self, tokens, error);
  if (tokens != NULL)
    g_task_return_pointer (task, g_steal_pointer (&tokens), (GDestroyNotify) lk_token_response_free);
  else
    g_task_return_error (task, g_steal_pointer (&error));
  process_queue (self);
}

static void
enqueue (LkGrantKeeper *self, GTask *task)
{
  if (self->revoked)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_REVOKED, "the owner's grant was revoked");
      g_object_unref (task);
      return;
    }
  g_queue_push_tail (&self->queue, task);
  process_queue (self);
}

/* The outcome was taken in on_refreshed(): only the tokens are left to free. */
static void
on_background_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  lk_token_response_free (lk_grant_keeper_refresh_finish (LK_GRANT_KEEPER (source), result, NULL));
}

static void
refresh_in_background (LkGrantKeeper *self)
{
  GTask *task = g_task_new (self, NULL, on_background_done, NULL);
  Request *request = g_new0 (Request, 1);

  request->background = TRUE;
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  enqueue (self, task);
}

void
lk_grant_keeper_refresh_async (LkGrantKeeper *self,
                               const char *scope,
                               const char *resource,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *request = g_new0 (Request, 1);

  request->scope = g_strdup (scope);
  request->resource = g_strdup (resource);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  g_task_set_source_tag (task, lk_grant_keeper_refresh_async);
  enqueue (self, task);
}

LkTokenResponse *
lk_grant_keeper_refresh_finish (LkGrantKeeper *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
lk_grant_keeper_start (LkGrantKeeper *self, const LkTokenResponse *tokens)
{
  if (tokens == NULL)
    {
      refresh_in_background (self);
      return;
    }
  on_background_refreshed (self, tokens, NULL);
}

void
lk_grant_keeper_stop (LkGrantKeeper *self)
{
  g_autoptr (GError) error = g_error_new (LK_ERROR, LK_ERROR_CANCELLED, "the owner's grant is no longer used");

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  fail_queue (self, error);
  self->revoked = TRUE;
}

const LkGrant *
lk_grant_keeper_get_grant (LkGrantKeeper *self)
{
  return self->grant;
}

gint64
lk_grant_keeper_get_expires_at (LkGrantKeeper *self)
{
  return self->expires_at;
}

LkGrantKeeper *
lk_grant_keeper_new (LkOAuthClient *client,
                     LkKeystore *keystore,
                     const char *state_dir,
                     LkGrant *grant,
                     guint refresh_margin)
{
  LkGrantKeeper *self = g_object_new (LK_TYPE_GRANT_KEEPER, NULL);

  self->client = g_object_ref (client);
  self->keystore = lk_keystore_ref (keystore);
  self->state_dir = g_strdup (state_dir);
  self->grant = grant;
  self->refresh_margin = refresh_margin;
  return self;
}

static void
lk_grant_keeper_finalize (GObject *object)
{
  LkGrantKeeper *self = LK_GRANT_KEEPER (object);

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_object_unref (self->cancellable);
  g_clear_object (&self->client);
  g_clear_pointer (&self->keystore, lk_keystore_unref);
  g_clear_pointer (&self->grant, lk_grant_free);
  lk_tpm_secret_string_free (self->access_token);
  g_free (self->state_dir);

  G_OBJECT_CLASS (lk_grant_keeper_parent_class)->finalize (object);
}

static void
lk_grant_keeper_class_init (LkGrantKeeperClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_grant_keeper_finalize;

  /* The owner's access token changed. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 0);
  /* The server no longer honours the grant: the GError says why. */
  signals[SIGNAL_REVOKED] = g_signal_new ("revoked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                          NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
lk_grant_keeper_init (LkGrantKeeper *self)
{
  g_queue_init (&self->queue);
  self->cancellable = g_cancellable_new ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "error.h"
#include "log.h"
#include "pairing.h"

/* Network failures back off exponentially, up to this. */
#define BACKOFF_MAX_SECONDS 300
#define HOUR_USEC (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

struct _LkPairing {
  GObject parent;

  LkOAuthClient *client;
  char *scope;
  GStrv resources;
  guint max_attempts_per_hour;
  guint default_interval;
  GArray *attempts;               /* gint64 monotonic times of the last hour's starts */

  LkPairingState state;
  GCancellable *cancellable;      /* of the requests under way */
  LkDeviceAuthorization *authorization;
  gint64 expires_at;              /* unix seconds */
  guint interval;                 /* seconds */
  guint network_failures;
  guint poll_source;
  guint expiry_source;
  GError *failure;
  LkPairingKeepFunc keep;
  gpointer keep_data;
};

G_DEFINE_FINAL_TYPE (LkPairing, lk_pairing, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

static void poll_later (LkPairing *self, guint seconds);

const char *
lk_pairing_state_to_string (LkPairingState state)
{
  static const char *const names[] = {
    [LK_PAIRING_IDLE] = "idle",
    [LK_PAIRING_STARTING] = "starting",
    [LK_PAIRING_WAITING] = "waiting",
    [LK_PAIRING_APPROVED] = "approved",
    [LK_PAIRING_DENIED] = "denied",
    [LK_PAIRING_EXPIRED] = "expired",
    [LK_PAIRING_CANCELLED] = "cancelled",
    [LK_PAIRING_FAILED] = "failed",
  };

  g_return_val_if_fail (state < G_N_ELEMENTS (names), NULL);
  return names[state];
}

static gboolean
in_progress (LkPairing *self)
{
  return self->state == LK_PAIRING_STARTING || self->state == LK_PAIRING_WAITING;
}

static void
set_state (LkPairing *self, LkPairingState state)
{
  self->state = state;
  lk_info ("pairing", "now %s", lk_pairing_state_to_string (state));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* Ends the pairing under way with @state; takes @failure (may be NULL). */
static void
finish (LkPairing *self, LkPairingState state, GError *failure)
{
  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_clear_handle_id (&self->expiry_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* The device code is worth nothing now, and was a secret. */
  g_clear_pointer (&self->authorization, lk_device_authorization_free);
  g_clear_error (&self->failure);
  self->failure = failure;
  set_state (self, state);
}

static gboolean
on_expired (gpointer user_data)
{
  LkPairing *self = user_data;

  self->expiry_source = 0;
  finish (self, LK_PAIRING_EXPIRED,
          g_error_new_literal (LK_ERROR, LK_ERROR_EXPIRED, "the code expired before it was approved"));
  return G_SOURCE_REMOVE;
}

static void
on_polled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LkPairing) self = user_data;
  LkTokenResponse *tokens = NULL;
  GError *error = NULL;
  LkDevicePoll poll;

  if (!lk_oauth_device_poll_finish (result, &poll, &tokens, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !in_progress (self))
        g_error_free (error);
      else if (g_error_matches (error, LK_ERROR, LK_ERROR_DENIED))
        finish (self, LK_PAIRING_DENIED, error);
      else if (g_error_matches (error, LK_ERROR, LK_ERROR_EXPIRED))
        finish (self, LK_PAIRING_EXPIRED, error);
      else if (g_error_matches (error, LK_ERROR, LK_ERROR_NETWORK))
        {
          /* Worth retrying while the code lives: the expiry timer ends it otherwise. */
          guint delay;

          self->network_failures++;
          delay = MIN (self->interval << MIN (self->network_failures, 8), BACKOFF_MAX_SECONDS);

          lk_warning ("pairing", "polling failed, again in %u s: %s", delay, error->message);
          g_error_free (error);
          poll_later (self, delay);
        }
      else
        finish (self, LK_PAIRING_FAILED, error);
      return;
    }

  self->network_failures = 0;
  switch (poll)
    {
    case LK_DEVICE_POLL_GRANTED:
      if (self->keep (tokens, self->keep_data, &error))
        finish (self, LK_PAIRING_APPROVED, NULL);
      else
        finish (self, LK_PAIRING_FAILED, error);
      lk_token_response_free (tokens);
      return;
    case LK_DEVICE_POLL_SLOW_DOWN:
      self->interval += LK_DEVICE_SLOW_DOWN_STEP;
      break;
    case LK_DEVICE_POLL_PENDING:
      break;
    }
  poll_later (self, self->interval);
}

static gboolean
on_poll_time (gpointer user_data)
{
  LkPairing *self = user_data;

  self->poll_source = 0;
  lk_oauth_device_poll_async (self->client, self->authorization, self->cancellable, on_polled, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
poll_later (LkPairing *self, guint seconds)
{
  self->poll_source = g_timeout_add_seconds (seconds, on_poll_time, self);
}

static void
on_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LkPairing) self = user_data;
  GError *error = NULL;
  LkDeviceAuthorization *authorization = lk_oauth_device_authorize_finish (result, &error);

  if (authorization == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !in_progress (self))
        g_error_free (error);
      else
        finish (self, LK_PAIRING_FAILED, error);
      return;
    }
  if (!in_progress (self))
    {
      lk_device_authorization_free (authorization);
      return;
    }

  self->authorization = authorization;
  self->interval = authorization->interval ? authorization->interval : self->default_interval;
  self->expires_at = g_get_real_time () / G_USEC_PER_SEC + authorization->expires_in;
  self->expiry_source = g_timeout_add_seconds (authorization->expires_in, on_expired, self);
  poll_later (self, self->interval);
  set_state (self, LK_PAIRING_WAITING);
}

gboolean
lk_pairing_start (LkPairing *self, GError **error)
{
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (LK_IS_PAIRING (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (in_progress (self))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BUSY, "a pairing is already %s",
                   lk_pairing_state_to_string (self->state));
      return FALSE;
    }

  while (self->attempts->len > 0 && now - g_array_index (self->attempts, gint64, 0) >= HOUR_USEC)
    g_array_remove_index (self->attempts, 0);
  if (self->attempts->len >= self->max_attempts_per_hour)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_RATE_LIMITED,
                   "%u pairings were started in the last hour, the most allowed", self->max_attempts_per_hour);
      return FALSE;
    }
  g_array_append_val (self->attempts, now);

  g_clear_error (&self->failure);
  self->network_failures = 0;
  self->cancellable = g_cancellable_new ();
  set_state (self, LK_PAIRING_STARTING);

  lk_oauth_device_authorize_async (self->client, self->scope, (const char *const *) self->resources,
                                   self->cancellable, on_authorized, g_object_ref (self));
  return TRUE;
}

gboolean
lk_pairing_cancel (LkPairing *self, GError **error)
{
  g_return_val_if_fail (LK_IS_PAIRING (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!in_progress (self))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_FAILED, "no pairing is under way (it is %s)",
                   lk_pairing_state_to_string (self->state));
      return FALSE;
    }
  finish (self, LK_PAIRING_CANCELLED,
          g_error_new_literal (LK_ERROR, LK_ERROR_CANCELLED, "the pairing was cancelled"));
  return TRUE;
}

LkPairingState
lk_pairing_get_state (LkPairing *self)
{
  return self->state;
}

const LkDeviceAuthorization *
lk_pairing_get_authorization (LkPairing *self)
{
  return self->state == LK_PAIRING_WAITING ? self->authorization : NULL;
}

gint64
lk_pairing_get_expires_at (LkPairing *self)
{
  return self->state == LK_PAIRING_WAITING ? self->expires_at : 0;
}

const GError *
lk_pairing_get_failure (LkPairing *self)
{
  return self->failure;
}

LkPairing *
lk_pairing_new (LkOAuthClient *client, const LkPairingConfig *config, LkPairingKeepFunc keep, gpointer user_data)
{
  LkPairing *self = g_object_new (LK_TYPE_PAIRING, NULL);

  self->keep = keep;
  self->keep_data = user_data;
  self->client = g_object_ref (client);
  self->scope = g_strdup (config->scope);
  self->resources = g_strdupv ((char **) config->resources);
  self->max_attempts_per_hour = config->max_attempts_per_hour;
  self->default_interval = config->default_interval;
  return self;
}

static void
lk_pairing_finalize (GObject *object)
{
  LkPairing *self = LK_PAIRING (object);

  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_clear_handle_id (&self->expiry_source, g_source_remove);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->authorization, lk_device_authorization_free);
  g_clear_error (&self->failure);
  g_clear_object (&self->client);
  g_array_unref (self->attempts);
  g_free (self->scope);
  g_strfreev (self->resources);

  G_OBJECT_CLASS (lk_pairing_parent_class)->finalize (object);
}

static void
lk_pairing_class_init (LkPairingClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_pairing_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                          NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lk_pairing_init (LkPairing *self)
{
  self->attempts = g_array_new (FALSE, FALSE, sizeof (gint64));
}

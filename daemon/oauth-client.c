/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "dpop.h"
#include "error.h"
#include "json-members.h"
#include "jose.h"
#include "oauth-client.h"
#include "tpm/secret-bytes.h"

/* OAuth responses are a few KiB; ID tokens with many claims stay well below. */
#define RESPONSE_MAX_SIZE (64 * 1024)
/* RFC 7523 §3: assertions are short-lived; the server keeps their jti that long. */
#define ASSERTION_LIFETIME_SECONDS 60
#define JWT_BEARER_ASSERTION "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct _LkOAuthClient {
  GObject parent;

  char *issuer;
  char *client_id;
  LkClientAuth client_auth;
  LkDPoPMode dpop;
  LkKeystore *keystore;
  LkHttp *http;
  LkOAuthServer *server;
  GHashTable *nonces;   /* origin → the last DPoP-Nonce it sent */
};

G_DEFINE_FINAL_TYPE (LkOAuthClient, lk_oauth_client, G_TYPE_OBJECT)

typedef struct {
  LkOAuthClient *client;
  LkOAuthEndpoint endpoint;
  GPtrArray *form;
  gboolean retried;   /* with a fresh nonce, once */
} PostData;

static void
post_data_free (PostData *data)
{
  g_object_unref (data->client);
  g_ptr_array_unref (data->form);
  g_free (data);
}

GPtrArray *
lk_oauth_form_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) lk_tpm_secret_string_free);
}

void
lk_oauth_form_add (GPtrArray *form, const char *name, const char *value)
{
  if (value == NULL)
    return;
  g_ptr_array_add (form, g_strdup (name));
  g_ptr_array_add (form, g_strdup (value));
}

/* application/x-www-form-urlencoded; names may repeat (RFC 8707 resource). */
static char *
form_encode (GPtrArray *form)
{
  GString *encoded = g_string_new (NULL);

  for (guint i = 0; i + 1 < form->len; i += 2)
    {
      g_autofree char *name = g_uri_escape_string (form->pdata[i], NULL, FALSE);
      char *value = g_uri_escape_string (form->pdata[i + 1], NULL, FALSE);

      g_string_append_printf (encoded, "%s%s=%s", i ? "&" : "", name, value);
      lk_tpm_secret_string_free (value);
    }
  return g_string_free (encoded, FALSE);
}

const char *
lk_oauth_error_code (JsonObject *object)
{
  const char *code = lk_json_get_string (object, "error");

  if (code == NULL || strlen (code) > 64 || strspn (code, "abcdefghijklmnopqrstuvwxyz_") != strlen (code))
    return NULL;
  return code;
}

static char *
origin_of (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL)
    return NULL;
  return g_strdup_printf ("%s://%s:%d", g_uri_get_scheme (uri), g_uri_get_host (uri), g_uri_get_port (uri));
}

static const char *
endpoint_url (const LkOAuthServer *server, LkOAuthEndpoint endpoint)
{
  switch (endpoint)
    {
    case LK_OAUTH_DEVICE_AUTHORIZATION_ENDPOINT:
      return server->device_authorization_endpoint;
    case LK_OAUTH_TOKEN_ENDPOINT:
      return server->token_endpoint;
    case LK_OAUTH_REVOCATION_ENDPOINT:
      return server->revocation_endpoint;
    }
  g_return_val_if_reached (NULL);
}

static const char *
endpoint_name (LkOAuthEndpoint endpoint)
{
  switch (endpoint)
    {
    case LK_OAUTH_DEVICE_AUTHORIZATION_ENDPOINT:
      return "device authorization";
    case LK_OAUTH_TOKEN_ENDPOINT:
      return "token";
    case LK_OAUTH_REVOCATION_ENDPOINT:
      return "revocation";
    }
  g_return_val_if_reached (NULL);
}

/*
 * RFC 7523 §3 as OpenID Connect Core §9 profiles it: the client asserts
 * itself, to the server named by its issuer identifier (the audience that
 * cannot be confused with another server's endpoint).
 */
static char *
client_assertion_new (LkOAuthClient *self, GError **error)
{
  g_autoptr (JsonObject) header = json_object_new ();
  g_autoptr (JsonObject) claims = json_object_new ();
  g_autofree char *kid = lk_keystore_get_jwk_thumbprint (self->keystore, error);
  g_autofree char *jti = lk_jose_random_id ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (kid == NULL)
    return NULL;
  json_object_set_string_member (header, "typ", "JWT");
  json_object_set_string_member (header, "kid", kid);
  json_object_set_string_member (claims, "iss", self->client_id);
  json_object_set_string_member (claims, "sub", self->client_id);
  json_object_set_string_member (claims, "aud", self->issuer);
  json_object_set_string_member (claims, "jti", jti);
  json_object_set_int_member (claims, "iat", now);
  json_object_set_int_member (claims, "exp", now + ASSERTION_LIFETIME_SECONDS);
  return lk_jose_sign (self->keystore, header, claims, error);
}

static void on_sent (GObject *source, GAsyncResult *result, gpointer user_data);

static void
send_post (GTask *task)
{
  PostData *data = g_task_get_task_data (task);
  LkOAuthClient *self = data->client;
  const char *url = endpoint_url (self->server, data->endpoint);
  g_autoptr (GPtrArray) form = lk_oauth_form_new ();
  g_autoptr (SoupMessage) message = NULL;
  GError *error = NULL;

  if (url == NULL)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL, "%s has no %s endpoint", self->issuer,
                               endpoint_name (data->endpoint));
      g_object_unref (task);
      return;
    }

  for (guint i = 0; i + 1 < data->form->len; i += 2)
    lk_oauth_form_add (form, data->form->pdata[i], data->form->pdata[i + 1]);
  lk_oauth_form_add (form, "client_id", self->client_id);
  if (self->client_auth == LK_CLIENT_AUTH_PRIVATE_KEY_JWT)
    {
      g_autofree char *assertion = client_assertion_new (self, &error);

      if (assertion == NULL)
        {
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      lk_oauth_form_add (form, "client_assertion_type", JWT_BEARER_ASSERTION);
      lk_oauth_form_add (form, "client_assertion", assertion);
    }

  message = soup_message_new_from_encoded_form (SOUP_METHOD_POST, url, form_encode (form));
  soup_message_headers_append (soup_message_get_request_headers (message), "Accept", "application/json");
  if (data->endpoint == LK_OAUTH_TOKEN_ENDPOINT && lk_oauth_client_uses_dpop (self))
    {
      g_autofree char *origin = origin_of (url);
      g_autofree char *proof = lk_dpop_proof_new (self->keystore, SOUP_METHOD_POST, url,
                                                  g_hash_table_lookup (self->nonces, origin), NULL, &error);

      if (proof == NULL)
        {
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      soup_message_headers_append (soup_message_get_request_headers (message), "DPoP", proof);
    }
  lk_http_send_async (self->http, message, RESPONSE_MAX_SIZE, g_task_get_cancellable (task), on_sent, task);
}

/* RFC 9449 §8: a server that wants a nonce says use_dpop_nonce and sends one. */
static gboolean
wants_new_nonce (LkHttpResponse *response)
{
  g_autoptr (JsonObject) object = NULL;

  if (response->status != SOUP_STATUS_BAD_REQUEST && response->status != SOUP_STATUS_UNAUTHORIZED)
    return FALSE;
  object = lk_http_response_json_object (response, "token response", NULL);
  return object != NULL && g_strcmp0 (lk_oauth_error_code (object), "use_dpop_nonce") == 0;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PostData *data = g_task_get_task_data (task);
  LkOAuthClient *self = data->client;
  LkHttpResponse *response;
  GError *error = NULL;
  const char *nonce;

  response = lk_http_send_finish (self->http, result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  nonce = soup_message_headers_get_one (response->headers, "DPoP-Nonce");
  if (nonce != NULL)
    {
      char *origin = origin_of (endpoint_url (self->server, data->endpoint));

      if (origin != NULL)
        g_hash_table_replace (self->nonces, origin, g_strdup (nonce));
    }
  if (nonce != NULL && !data->retried && data->endpoint == LK_OAUTH_TOKEN_ENDPOINT
      && lk_oauth_client_uses_dpop (self) && wants_new_nonce (response))
    {
      data->retried = TRUE;
      lk_http_response_free (response);
      send_post (task);
      return;
    }
  g_task_return_pointer (task, response, (GDestroyNotify) lk_http_response_free);
  g_object_unref (task);
}

static void
on_discovered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  PostData *data = g_task_get_task_data (task);
  LkOAuthClient *self = data->client;
  GError *error = NULL;
  LkOAuthServer *server = lk_oauth_discover_finish (result, &error);

  if (server == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* Two first requests may both have asked: the first answer stays. */
  if (self->server == NULL)
    self->server = server;
  else
    lk_oauth_server_free (server);
  send_post (task);
}

void
lk_oauth_client_post_async (LkOAuthClient *self,
                            LkOAuthEndpoint endpoint,
                            GPtrArray *form,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  PostData *data = g_new0 (PostData, 1);

  data->client = g_object_ref (self);
  data->endpoint = endpoint;
  data->form = g_ptr_array_ref (form);
  g_task_set_task_data (task, data, (GDestroyNotify) post_data_free);
  g_task_set_source_tag (task, lk_oauth_client_post_async);

  if (self->server == NULL)
    lk_oauth_discover_async (self->http, self->issuer, cancellable, on_discovered, task);
  else
    send_post (task);
}

LkHttpResponse *
lk_oauth_client_post_finish (LkOAuthClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
lk_oauth_client_get_issuer (LkOAuthClient *self)
{
  return self->issuer;
}

const LkOAuthServer *
lk_oauth_client_get_server (LkOAuthClient *self)
{
  return self->server;
}

gboolean
lk_oauth_client_uses_dpop (LkOAuthClient *self)
{
  switch (self->dpop)
    {
    case LK_DPOP_ALWAYS:
      return TRUE;
    case LK_DPOP_NEVER:
      return FALSE;
    case LK_DPOP_AUTO:
      return self->server != NULL && self->server->dpop_signing_alg_values_supported != NULL
             && g_strv_contains ((const char *const *) self->server->dpop_signing_alg_values_supported,
                                 lk_keystore_get_algorithm (self->keystore));
    }
  g_return_val_if_reached (FALSE);
}

LkOAuthClient *
lk_oauth_client_new (const LkOAuthClientConfig *config, LkKeystore *keystore, GError **error)
{
  LkOAuthClient *self;
  LkHttp *http;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  http = lk_http_new (config->trust_anchors, error);
  if (http == NULL)
    return NULL;
  self = g_object_new (LK_TYPE_OAUTH_CLIENT, NULL);
  self->http = http;
  self->issuer = g_strdup (config->issuer);
  self->client_id = g_strdup (config->client_id);
  self->client_auth = config->client_auth;
  self->dpop = config->dpop;
  self->keystore = lk_keystore_ref (keystore);
  return self;
}

static void
lk_oauth_client_finalize (GObject *object)
{
  LkOAuthClient *self = LK_OAUTH_CLIENT (object);

  g_hash_table_unref (self->nonces);
  g_clear_pointer (&self->server, lk_oauth_server_free);
  g_clear_pointer (&self->http, lk_http_free);
  g_clear_pointer (&self->keystore, lk_keystore_unref);
  g_free (self->issuer);
  g_free (self->client_id);

  G_OBJECT_CLASS (lk_oauth_client_parent_class)->finalize (object);
}

static void
lk_oauth_client_class_init (LkOAuthClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_oauth_client_finalize;
}

static void
lk_oauth_client_init (LkOAuthClient *self)
{
  self->nonces = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

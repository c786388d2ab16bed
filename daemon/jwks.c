/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "base64url.h"
#include "error.h"
#include "json-members.h"
#include "jwks.h"

/* A JWK Set is a few keys; a provider's is a few kilobytes. */
#define JWKS_MAX_BODY (64 * 1024)

typedef struct {
  char *kid;    /* NULL when the key has none */
  char *kty;
  gnutls_pubkey_t key;
} LkJwk;

struct _LkJwks {
  GPtrArray *keys;   /* LkJwk */
};

static void
jwk_free (LkJwk *jwk)
{
  g_free (jwk->kid);
  g_free (jwk->kty);
  gnutls_pubkey_deinit (jwk->key);
  g_free (jwk);
}

LkJwks *
lk_jwks_new (void)
{
  LkJwks *self = g_new0 (LkJwks, 1);

  self->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) jwk_free);
  return self;
}

void
lk_jwks_free (LkJwks *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->keys);
  g_free (self);
}

/* The base64url member @name of @jwk as a GnuTLS datum (@ret_bytes holds the data). */
static gboolean
read_bignum (JsonObject *jwk, const char *name, GBytes **ret_bytes, gnutls_datum_t *ret_datum, GError **error)
{
  const char *text = lk_json_get_string (jwk, name);
  gsize size;

  if (text == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK: no %s", name);
      return FALSE;
    }
  *ret_bytes = lk_base64url_decode (text, strlen (text), error);
  if (*ret_bytes == NULL)
    {
      g_prefix_error (error, "JWK: %s: ", name);
      return FALSE;
    }
  ret_datum->data = (unsigned char *) g_bytes_get_data (*ret_bytes, &size);
  ret_datum->size = size;
  if (size == 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK: %s is empty", name);
      return FALSE;
    }
  return TRUE;
}

/* One key of the set; FALSE without error for a key that is not for us. */
static gboolean
parse_jwk (JsonObject *object, LkJwk **ret_jwk, GError **error)
{
  const char *kty = lk_json_get_string (object, "kty");
  const char *use = lk_json_get_string (object, "use");
  const char *crv = lk_json_get_string (object, "crv");
  g_autoptr (GBytes) a = NULL, b = NULL;
  gnutls_datum_t da, db;
  gnutls_pubkey_t key = NULL;
  int ret;

  *ret_jwk = NULL;
  if (kty == NULL || (use != NULL && !g_str_equal (use, "sig")))
    return TRUE;
  if (g_str_equal (kty, "EC") && g_strcmp0 (crv, "P-256") == 0)
    {
      if (!read_bignum (object, "x", &a, &da, error) || !read_bignum (object, "y", &b, &db, error))
        return FALSE;
      if (da.size != 32 || db.size != 32)
        {
          g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK: a P-256 coordinate is not 32 bytes");
          return FALSE;
        }
      gnutls_pubkey_init (&key);
      ret = gnutls_pubkey_import_ecc_raw (key, GNUTLS_ECC_CURVE_SECP256R1, &da, &db);
    }
  else if (g_str_equal (kty, "RSA"))
    {
      if (!read_bignum (object, "n", &a, &da, error) || !read_bignum (object, "e", &b, &db, error))
        return FALSE;
      /* Shorter moduli are breakable: a provider using one is not trusted. */
      if (da.size < 256)
        {
          g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK: an RSA key shorter than 2048 bits");
          return FALSE;
        }
      gnutls_pubkey_init (&key);
      ret = gnutls_pubkey_import_rsa_raw (key, &da, &db);
    }
  else
    return TRUE;

  if (ret < 0)
    {
      gnutls_pubkey_deinit (key);
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK: not a valid %s key: %s", kty, gnutls_strerror (ret));
      return FALSE;
    }
  *ret_jwk = g_new0 (LkJwk, 1);
  (*ret_jwk)->kid = g_strdup (lk_json_get_string (object, "kid"));
  (*ret_jwk)->kty = g_strdup (kty);
  (*ret_jwk)->key = key;
  return TRUE;
}

gboolean
lk_jwks_load (LkJwks *self, JsonObject *set, GError **error)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) jwk_free);
  JsonNode *node = json_object_get_member (set, "keys");
  JsonArray *array;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK Set: no keys array");
      return FALSE;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      LkJwk *jwk = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "JWK Set: key %u is not an object", i);
          return FALSE;
        }
      if (!parse_jwk (json_node_get_object (element), &jwk, error))
        {
          g_prefix_error (error, "JWK Set: key %u: ", i);
          return FALSE;
        }
      if (jwk != NULL)
        g_ptr_array_add (keys, jwk);
    }
  g_ptr_array_unref (self->keys);
  self->keys = g_steal_pointer (&keys);
  return TRUE;
}

gnutls_pubkey_t
lk_jwks_lookup (LkJwks *self, const char *kid, const char *kty)
{
  gnutls_pubkey_t found = NULL;

  for (guint i = 0; i < self->keys->len; i++)
    {
      LkJwk *jwk = self->keys->pdata[i];

      if (!g_str_equal (jwk->kty, kty))
        continue;
      if (kid != NULL)
        {
          if (g_strcmp0 (jwk->kid, kid) == 0)
            return jwk->key;
          continue;
        }
      /* Without a kid, only an unambiguous key will do. */
      if (found != NULL)
        return NULL;
      found = jwk->key;
    }
  return found;
}

guint
lk_jwks_count (LkJwks *self)
{
  return self->keys->len;
}

static void
on_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  LkJwks *self = g_object_get_data (G_OBJECT (task), "lk-jwks");
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) set = NULL;
  GError *error = NULL;

  response = lk_http_send_finish (g_task_get_task_data (task), result, &error);
  /* RFC 7517 §8.5 gives JWK Sets a media type of their own: it is JSON too. */
  if (response != NULL
      && g_strcmp0 (soup_message_headers_get_content_type (response->headers, NULL), "application/jwk-set+json") == 0)
    soup_message_headers_set_content_type (response->headers, "application/json", NULL);
  if (response != NULL)
    set = lk_http_response_json_object (response, "JWK Set", &error);
  if (set == NULL || !lk_jwks_load (self, set, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
lk_jwks_fetch_async (LkJwks *self,
                     LkHttp *http,
                     const char *uri,
                     GCancellable *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  /* GTask needs a GObject source; the set is passed through the callback's closure instead. */
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  SoupMessage *message = soup_message_new (SOUP_METHOD_GET, uri);

  g_task_set_source_tag (task, lk_jwks_fetch_async);
  g_task_set_task_data (task, http, NULL);
  g_object_set_data (G_OBJECT (task), "lk-jwks", self);
  if (message == NULL)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL, "jwks_uri is not a URI");
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (message), "Accept", "application/json");
  lk_http_send_async (http, message, JWKS_MAX_BODY, cancellable, on_fetched, g_steal_pointer (&task));
  g_object_unref (message);
}

gboolean
lk_jwks_fetch_finish (LkJwks *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

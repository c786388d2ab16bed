/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "error.h"
#include "json-members.h"
#include "oauth-discovery.h"

/* Metadata documents are a few KiB; 64 KiB is generous. */
#define METADATA_MAX_SIZE (64 * 1024)

typedef struct {
  LkHttp *http;
  char *issuer;
  char *url;        /* being fetched */
  char *fallback;   /* to fetch if @url has no metadata; NULL once used */
} DiscoverData;

static void
discover_data_free (DiscoverData *data)
{
  g_free (data->issuer);
  g_free (data->url);
  g_free (data->fallback);
  g_free (data);
}

void
lk_oauth_server_free (LkOAuthServer *server)
{
  if (server == NULL)
    return;
  g_free (server->issuer);
  g_free (server->device_authorization_endpoint);
  g_free (server->token_endpoint);
  g_free (server->revocation_endpoint);
  g_free (server->userinfo_endpoint);
  g_free (server->jwks_uri);
  g_strfreev (server->dpop_signing_alg_values_supported);
  g_free (server);
}

gboolean
lk_oauth_discovery_urls (const char *issuer, char **ret_rfc8414, char **ret_openid, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autofree char *path = NULL;
  g_autofree char *rfc8414_path = NULL;
  g_autofree char *openid_path = NULL;
  g_autoptr (GUri) rfc8414 = NULL;
  g_autoptr (GUri) openid = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* RFC 8414 §2: an https URL with no query or fragment. */
  uri = g_uri_parse (issuer, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL
      || g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL || g_uri_get_userinfo (uri) != NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                   "issuer “%s” is not an https URL without query, fragment or user", issuer);
      return FALSE;
    }

  path = g_strdup (g_uri_get_path (uri));
  if (g_str_has_suffix (path, "/"))
    path[strlen (path) - 1] = '\0';

  /* RFC 8414 §3.1 puts the well-known segment before the issuer's path... */
  rfc8414_path = g_strconcat ("/.well-known/oauth-authorization-server", path, NULL);
  rfc8414 = g_uri_build (G_URI_FLAGS_NONE, "https", NULL, g_uri_get_host (uri), g_uri_get_port (uri),
                         rfc8414_path, NULL, NULL);
  *ret_rfc8414 = g_uri_to_string (rfc8414);
  /* ...OpenID Connect Discovery §4 after it. */
  openid_path = g_strconcat (path, "/.well-known/openid-configuration", NULL);
  openid = g_uri_build (G_URI_FLAGS_NONE, "https", NULL, g_uri_get_host (uri), g_uri_get_port (uri),
                        openid_path, NULL, NULL);
  *ret_openid = g_uri_to_string (openid);
  return TRUE;
}

static gboolean
read_endpoint (JsonObject *metadata, const char *member, gboolean required, const char *what,
               char **ret_url, GError **error)
{
  const char *value;
  g_autoptr (GUri) uri = NULL;

  if (!json_object_has_member (metadata, member))
    {
      if (!required)
        return TRUE;
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: no %s", what, member);
      return FALSE;
    }
  value = lk_json_get_string (metadata, member);
  if (value != NULL)
    uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_host (uri) == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s is not an https URL", what, member);
      return FALSE;
    }
  *ret_url = g_strdup (value);
  return TRUE;
}

static LkOAuthServer *
parse_metadata (JsonObject *metadata, const char *issuer, const char *what, GError **error)
{
  g_autoptr (LkOAuthServer) server = g_new0 (LkOAuthServer, 1);
  const char *document_issuer = lk_json_get_string (metadata, "issuer");

  /* RFC 8414 §3.3: otherwise the document may speak for someone else. */
  if (g_strcmp0 (document_issuer, issuer) != 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: issuer is “%s”, expected “%s”", what,
                   document_issuer ? document_issuer : "missing", issuer);
      return NULL;
    }
  server->issuer = g_strdup (issuer);

  if (!read_endpoint (metadata, "device_authorization_endpoint", TRUE, what,
                      &server->device_authorization_endpoint, error)
      || !read_endpoint (metadata, "token_endpoint", TRUE, what, &server->token_endpoint, error)
      || !read_endpoint (metadata, "revocation_endpoint", FALSE, what, &server->revocation_endpoint, error)
      || !read_endpoint (metadata, "userinfo_endpoint", FALSE, what, &server->userinfo_endpoint, error)
      || !read_endpoint (metadata, "jwks_uri", FALSE, what, &server->jwks_uri, error))
    return NULL;

  if (json_object_has_member (metadata, "dpop_signing_alg_values_supported"))
    {
      JsonNode *node = json_object_get_member (metadata, "dpop_signing_alg_values_supported");
      g_autoptr (GStrvBuilder) algs = g_strv_builder_new ();
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: dpop_signing_alg_values_supported "
                       "is not an array", what);
          return NULL;
        }
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
            g_strv_builder_add (algs, json_node_get_string (element));
        }
      server->dpop_signing_alg_values_supported = g_strv_builder_end (algs);
    }

  return g_steal_pointer (&server);
}

static void fetch (GTask *task);

static void
on_fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  DiscoverData *data = g_task_get_task_data (task);
  g_autoptr (LkHttpResponse) response = NULL;
  g_autoptr (JsonObject) metadata = NULL;
  g_autofree char *what = NULL;
  GError *error = NULL;
  LkOAuthServer *server;

  response = lk_http_send_finish (data->http, result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* A server without RFC 8414 metadata may still speak OpenID Connect. */
  if (data->fallback != NULL && response->status == SOUP_STATUS_NOT_FOUND)
    {
      g_free (data->url);
      data->url = g_steal_pointer (&data->fallback);
      fetch (g_steal_pointer (&task));
      return;
    }

  what = g_strdup_printf ("metadata at %s", data->url);
  if (response->status != SOUP_STATUS_OK)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL, "%s: HTTP status %u", what,
                               response->status);
      return;
    }
  metadata = lk_http_response_json_object (response, what, &error);
  server = metadata ? parse_metadata (metadata, data->issuer, what, &error) : NULL;
  if (server == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, server, (GDestroyNotify) lk_oauth_server_free);
}

static void
fetch (GTask *task)
{
  DiscoverData *data = g_task_get_task_data (task);
  g_autoptr (SoupMessage) message = soup_message_new (SOUP_METHOD_GET, data->url);

  soup_message_headers_append (soup_message_get_request_headers (message), "Accept", "application/json");
  lk_http_send_async (data->http, message, METADATA_MAX_SIZE, g_task_get_cancellable (task), on_fetched,
                      task);
}

void
lk_oauth_discover_async (LkHttp *http,
                         const char *issuer,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  DiscoverData *data;
  GError *error = NULL;

  g_task_set_source_tag (task, lk_oauth_discover_async);
  data = g_new0 (DiscoverData, 1);
  data->http = http;
  data->issuer = g_strdup (issuer);
  g_task_set_task_data (task, data, (GDestroyNotify) discover_data_free);

  if (!lk_oauth_discovery_urls (issuer, &data->url, &data->fallback, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  fetch (g_steal_pointer (&task));
}

LkOAuthServer *
lk_oauth_discover_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

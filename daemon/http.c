/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "error.h"
#include "http.h"

/* Beyond this a stalled server is a failed request; callers retry. */
#define HTTP_TIMEOUT_SECONDS 30

struct _LkHttp {
  SoupSession *session;
  char *trust_anchors;
};

typedef struct {
  LkHttp *http;  /* outlives its requests */
  SoupMessage *message;
  char *url;
  gsize max_body;
  guint8 *buffer;
} SendData;

static void
send_data_free (SendData *data)
{
  g_object_unref (data->message);
  g_free (data->url);
  g_free (data->buffer);
  g_free (data);
}

LkHttp *
lk_http_new (const char *trust_anchors, GError **error)
{
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (GError) local_error = NULL;
  LkHttp *http;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (trust_anchors != NULL)
    {
      database = g_tls_file_database_new (trust_anchors, &local_error);
      if (database == NULL)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "trust anchors %s: %s", trust_anchors,
                       local_error->message);
          return NULL;
        }
    }
  else
    database = g_tls_backend_get_default_database (g_tls_backend_get_default ());

  http = g_new0 (LkHttp, 1);
  http->trust_anchors = g_strdup (trust_anchors);
  http->session = soup_session_new_with_options ("tls-database", database,
                                                 "timeout", HTTP_TIMEOUT_SECONDS,
                                                 "user-agent", "latchkeyd/" PACKAGE_VERSION,
                                                 NULL);
  return http;
}

void
lk_http_free (LkHttp *http)
{
  if (http == NULL)
    return;
  g_object_unref (http->session);
  g_free (http->trust_anchors);
  g_free (http);
}

void
lk_http_response_free (LkHttpResponse *response)
{
  if (response == NULL)
    return;
  g_clear_pointer (&response->headers, soup_message_headers_unref);
  g_clear_pointer (&response->body, g_bytes_unref);
  g_free (response);
}

static void
return_send_error (GTask *task, LkHttp *http, const char *url, const GError *cause)
{
  if (cause->domain == G_TLS_ERROR)
    g_task_return_new_error (task, LK_ERROR, LK_ERROR_NETWORK,
                             "%s: TLS: %s (trusted: %s)", url, cause->message,
                             http->trust_anchors ? http->trust_anchors : "the system's CA store");
  else
    g_task_return_new_error (task, LK_ERROR, LK_ERROR_NETWORK, "%s: %s", url, cause->message);
}

static void
on_body_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  LkHttpResponse *response;
  gsize n = 0;

  if (!g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n, &error))
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_NETWORK, "%s: reading the response: %s",
                               data->url, error->message);
      return;
    }
  if (n > data->max_body)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_PROTOCOL,
                               "%s: the response is larger than %" G_GSIZE_FORMAT " bytes",
                               data->url, data->max_body);
      return;
    }

  response = g_new0 (LkHttpResponse, 1);
  response->status = soup_message_get_status (data->message);
  response->headers = soup_message_headers_ref (soup_message_get_response_headers (data->message));
  response->body = g_bytes_new_take (g_steal_pointer (&data->buffer), n);
  g_task_return_pointer (task, response, (GDestroyNotify) lk_http_response_free);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SendData *data = g_task_get_task_data (task);
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  GCancellable *cancellable;

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (stream == NULL)
    {
      return_send_error (task, data->http, data->url, error);
      return;
    }

  /* One byte more than allowed tells an oversized body from a full one. */
  data->buffer = g_malloc (data->max_body + 1);
  cancellable = g_task_get_cancellable (task);
  g_input_stream_read_all_async (stream, data->buffer, data->max_body + 1, G_PRIORITY_DEFAULT,
                                 cancellable, on_body_read, g_steal_pointer (&task));
}

void
lk_http_send_async (LkHttp *http,
                    SoupMessage *message,
                    gsize max_body,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  SendData *data = g_new0 (SendData, 1);

  data->http = http;
  data->message = g_object_ref (message);
  data->url = g_uri_to_string_partial (soup_message_get_uri (message), G_URI_HIDE_PASSWORD);
  data->max_body = max_body;
  g_task_set_task_data (task, data, (GDestroyNotify) send_data_free);
  g_task_set_source_tag (task, lk_http_send_async);

  soup_session_send_async (http->session, message, G_PRIORITY_DEFAULT, cancellable, on_sent, task);
}

LkHttpResponse *
lk_http_send_finish (LkHttp *http, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

JsonObject *
lk_http_response_json_object (LkHttpResponse *response, const char *what, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  const char *content_type;
  gsize length;
  const char *body = g_bytes_get_data (response->body, &length);
  JsonNode *root;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  content_type = soup_message_headers_get_content_type (response->headers, NULL);
  if (g_strcmp0 (content_type, "application/json") != 0)
    {
      /* Named only when it looks like a media type: the server chooses it. */
      gboolean plain = content_type != NULL && strlen (content_type) <= 64
                       && strspn (content_type, "abcdefghijklmnopqrstuvwxyz0123456789/.+-") == strlen (content_type);

      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: content type is %s, not application/json",
                   what, plain ? content_type : content_type ? "unexpected" : "missing");
      return NULL;
    }
  /* The parser's own message quotes the text around the fault: the body may hold a secret. */
  if (length == 0 || !json_parser_load_from_data (parser, body, (gssize) length, NULL))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s", what, length ? "malformed JSON" : "empty body");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: not a JSON object", what);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>
#include <string.h>

#include "error.h"
#include "est.h"
#include "http.h"

/* A chain of a few certificates in base64; anything much bigger is not an answer of ours. */
#define EST_MAX_BODY (256 * 1024)
/* A server asking to wait longer than a day is answered as a failure would be, with backoff. */
#define EST_MAX_RETRY_AFTER (24 * 3600)

struct _LkEstClient {
  char *base;           /* https://host/.well-known/est[/label] */
  char *trust_anchors;
};

/* What /simpleenroll answered: certificates, or a time to come back. */
typedef struct {
  GPtrArray *certs;
  guint retry_after;
} Enrolled;

static void
enrolled_free (Enrolled *enrolled)
{
  g_clear_pointer (&enrolled->certs, g_ptr_array_unref);
  g_free (enrolled);
}

typedef struct {
  LkHttp *http;         /* one session per request: a client certificate never outlives it */
  char *url;
} Request;

static void
request_free (Request *request)
{
  lk_http_free (request->http);
  g_free (request->url);
  g_free (request);
}

LkEstClient *
lk_est_client_new (const char *url, const char *label, const char *trust_anchors, GError **error)
{
  g_autoptr (LkHttp) probe = NULL;
  LkEstClient *client;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_return_val_if_fail (trust_anchors != NULL, NULL);

  /* Read once now, so that a bad anchor file is a configuration error at start. */
  probe = lk_http_new (trust_anchors, error);
  if (probe == NULL)
    return NULL;
  client = g_new0 (LkEstClient, 1);
  client->base = label ? g_strdup_printf ("%s/%s", url, label) : g_strdup (url);
  client->trust_anchors = g_strdup (trust_anchors);
  return client;
}

void
lk_est_client_free (LkEstClient *client)
{
  if (client == NULL)
    return;
  g_free (client->base);
  g_free (client->trust_anchors);
  g_free (client);
}

static void
free_datum (gnutls_datum_t *datum)
{
  gnutls_free (datum->data);
}

GPtrArray *
lk_est_parse_certs_only (GBytes *body, GError **error)
{
  g_autoptr (GPtrArray) certs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GString) text = g_string_new (NULL);
  __attribute__ ((cleanup (free_datum))) gnutls_datum_t der = { NULL, 0 };
  gnutls_pkcs7_t pkcs7 = NULL;
  gnutls_datum_t in;
  gsize length;
  const char *data = g_bytes_get_data (body, &length);
  int rc, count = 0;

  /* RFC 7030 §4.1.3: base64 with line breaks (RFC 2045); GnuTLS decodes it without them. */
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isspace (data[i]))
      g_string_append_c (text, data[i]);
  in.data = (unsigned char *) text->str;
  in.size = (unsigned) text->len;
  rc = text->len > 0 ? gnutls_base64_decode2 (&in, &der) : GNUTLS_E_BASE64_DECODING_ERROR;
  if (rc >= 0)
    rc = gnutls_pkcs7_init (&pkcs7);
  if (rc >= 0)
    rc = gnutls_pkcs7_import (pkcs7, &der, GNUTLS_X509_FMT_DER);
  if (rc >= 0)
    rc = count = gnutls_pkcs7_get_crt_count (pkcs7);
  for (int i = 0; rc >= 0 && i < count; i++)
    {
      gnutls_datum_t crt = { NULL, 0 };

      rc = gnutls_pkcs7_get_crt_raw2 (pkcs7, (unsigned) i, &crt);
      if (rc >= 0)
        g_ptr_array_add (certs, g_bytes_new (crt.data, crt.size));
      gnutls_free (crt.data);
    }
  if (pkcs7 != NULL)
    gnutls_pkcs7_deinit (pkcs7);
  if (rc < 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "not a certs-only PKCS#7 in base64: %s",
                   gnutls_strerror (rc));
      return NULL;
    }
  if (certs->len == 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "the PKCS#7 holds no certificate");
      return NULL;
    }
  return g_steal_pointer (&certs);
}

/* The first line of a text/plain error body, if it is short and printable: the server chooses it. */
static char *
error_detail (LkHttpResponse *response)
{
  g_autofree char *text = NULL;
  gsize length;
  const char *body = g_bytes_get_data (response->body, &length);
  const char *type = soup_message_headers_get_content_type (response->headers, NULL);

  if (g_strcmp0 (type, "text/plain") != 0 || length == 0)
    return g_strdup ("");
  text = g_strndup (body, MIN (length, 200));
  text[strcspn (text, "\r\n")] = '\0';
  if (!g_utf8_validate (text, -1, NULL))
    return g_strdup ("");
  for (char *p = text; *p; p++)
    if (g_ascii_iscntrl (*p))
      *p = '?';
  return g_strdup_printf (": %s", text);
}

static guint
parse_retry_after (LkHttpResponse *response)
{
  const char *value = soup_message_headers_get_one (response->headers, "Retry-After");
  guint64 seconds = 0;

  if (value == NULL)
    return 0;
  if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &seconds, NULL))
    {
      g_autoptr (GDateTime) when = soup_date_time_new_from_http_string (value);
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

      if (when == NULL)
        return 0;
      seconds = (guint64) MAX (g_date_time_difference (when, now) / G_USEC_PER_SEC, 1);
    }
  return (guint) CLAMP (seconds, 1, EST_MAX_RETRY_AFTER);
}

/* The certificates of a 200 answer of content type application/pkcs7-mime. */
static GPtrArray *
response_certs (LkHttpResponse *response, const char *url, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *detail = NULL;
  const char *type;
  GPtrArray *certs;

  if (response->status != SOUP_STATUS_OK)
    {
      detail = error_detail (response);
      g_set_error (error, LK_ERROR,
                   response->status == 401 || response->status == 403 ? LK_ERROR_DENIED : LK_ERROR_PROTOCOL,
                   "%s: HTTP %u%s", url, response->status, detail);
      return NULL;
    }
  type = soup_message_headers_get_content_type (response->headers, NULL);
  if (g_strcmp0 (type, "application/pkcs7-mime") != 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: content type is not application/pkcs7-mime", url);
      return NULL;
    }
  certs = lk_est_parse_certs_only (response->body, &local_error);
  if (certs == NULL)
    g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: %s", url, local_error->message);
  return certs;
}

static void
unref_certificate (gpointer data, GClosure *closure)
{
  g_object_unref (data);
}

static void
on_network_event (SoupMessage *message, GSocketClientEvent event, GIOStream *connection, gpointer user_data)
{
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING)
    g_tls_connection_set_certificate (G_TLS_CONNECTION (connection), user_data);
}

/*
 * Presents @certificate for TLS client authentication. It is set on the
 * connection before the handshake, not only offered when the server asks:
 * glib-networking keys its cache of TLS sessions by the certificate the
 * connection has then, and a session resumed from a connection with
 * another certificate (or none) would carry that one's authentication.
 */
static void
set_client_certificate (SoupMessage *message, GTlsCertificate *certificate)
{
  soup_message_set_tls_client_certificate (message, certificate);
  g_signal_connect_data (message, "network-event", G_CALLBACK (on_network_event), g_object_ref (certificate),
                         unref_certificate, 0);
}

/*
 * Makes @task a request to @operation (its task data is the Request) and
 * returns the message to send, presenting @certificate when not NULL; NULL
 * once @task is answered with why there is nothing to send.
 */
static SoupMessage *
new_request (GTask *task, LkEstClient *client, const char *method, const char *operation,
             GTlsCertificate *certificate)
{
  Request *request = g_new0 (Request, 1);
  GError *error = NULL;
  SoupMessage *message;

  g_task_set_task_data (task, request, (GDestroyNotify) request_free);
  request->url = g_strdup_printf ("%s/%s", client->base, operation);
  request->http = lk_http_new (client->trust_anchors, &error);
  if (request->http == NULL)
    {
      g_task_return_error (task, error);
      return NULL;
    }
  message = soup_message_new (method, request->url);
  if (message == NULL)
    {
      g_task_return_new_error (task, LK_ERROR, LK_ERROR_CONFIG, "%s: not a URL", request->url);
      return NULL;
    }
  if (certificate != NULL)
    set_client_certificate (message, certificate);
  return message;
}

static void
on_cacerts (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr (LkHttpResponse) response = NULL;
  GError *error = NULL;
  GPtrArray *certs;

  response = lk_http_send_finish (request->http, result, &error);
  certs = response ? response_certs (response, request->url, &error) : NULL;
  if (certs == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, certs, (GDestroyNotify) g_ptr_array_unref);
}

void
lk_est_get_cacerts_async (LkEstClient *client,
                          GTlsCertificate *certificate,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (SoupMessage) message = NULL;
  Request *request;

  g_task_set_source_tag (task, lk_est_get_cacerts_async);
  message = new_request (task, client, "GET", "cacerts", certificate);
  if (message == NULL)
    return;
  request = g_task_get_task_data (task);
  lk_http_send_async (request->http, message, EST_MAX_BODY, cancellable, on_cacerts, g_steal_pointer (&task));
}

GPtrArray *
lk_est_get_cacerts_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_enrolled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr (LkHttpResponse) response = NULL;
  GError *error = NULL;
  Enrolled *enrolled;

  response = lk_http_send_finish (request->http, result, &error);
  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  enrolled = g_new0 (Enrolled, 1);
  if (response->status == SOUP_STATUS_ACCEPTED)
    {
      enrolled->retry_after = parse_retry_after (response);
      if (enrolled->retry_after == 0)
        error = g_error_new (LK_ERROR, LK_ERROR_PROTOCOL, "%s: HTTP 202 without a usable Retry-After", request->url);
    }
  else
    enrolled->certs = response_certs (response, request->url, &error);
  if (error != NULL)
    {
      enrolled_free (enrolled);
      g_task_return_error (task, error);
    }
  else
    g_task_return_pointer (task, enrolled, (GDestroyNotify) enrolled_free);
}

void
lk_est_enroll_async (LkEstClient *client,
                     gboolean reenroll,
                     GBytes *csr_der,
                     const LkEstAuth *auth,
                     GCancellable *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr (SoupMessage) message = NULL;
  g_autoptr (GBytes) request_body = NULL;
  g_autofree char *body = NULL;
  gsize length;
  const guint8 *der = g_bytes_get_data (csr_der, &length);
  Request *request;

  g_task_set_source_tag (task, lk_est_enroll_async);
  message = new_request (task, client, "POST", reenroll ? "simplereenroll" : "simpleenroll", auth->certificate);
  if (message == NULL)
    return;
  /* §4.2.1: the PKCS#10 in base64, as application/pkcs10. */
  body = g_base64_encode (der, length);
  length = strlen (body);
  request_body = g_bytes_new_take (g_steal_pointer (&body), length);
  soup_message_set_request_body_from_bytes (message, "application/pkcs10", request_body);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Content-Transfer-Encoding", "base64");
  if (auth->user != NULL)
    {
      g_autofree char *pair = g_strdup_printf ("%s:%s", auth->user, auth->password);
      g_autofree char *encoded = g_base64_encode ((const guint8 *) pair, strlen (pair));
      g_autofree char *header = g_strdup_printf ("Basic %s", encoded);

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", header);
      /* What is ours to wipe; libsoup keeps its own copy of the header while it sends it. */
      memset (pair, 0, strlen (pair));
      memset (encoded, 0, strlen (encoded));
      memset (header, 0, strlen (header));
    }
  request = g_task_get_task_data (task);
  lk_http_send_async (request->http, message, EST_MAX_BODY, cancellable, on_enrolled, g_steal_pointer (&task));
}

GPtrArray *
lk_est_enroll_finish (GAsyncResult *result, guint *ret_retry_after, GError **error)
{
  Enrolled *enrolled;
  GPtrArray *certs;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  *ret_retry_after = 0;
  enrolled = g_task_propagate_pointer (G_TASK (result), error);
  if (enrolled == NULL)
    return NULL;
  *ret_retry_after = enrolled->retry_after;
  certs = g_steal_pointer (&enrolled->certs);
  enrolled_free (enrolled);
  return certs;
}

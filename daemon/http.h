/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

/*
 * HTTPS for the daemon's protocols (OAuth, EST). Every server is verified
 * against explicit trust anchors, with no way to turn that off; response
 * bodies are read up to a limit, so a hostile server cannot make the
 * daemon hold more than it asked for.
 */

typedef struct _LkHttp LkHttp;

/*
 * A client trusting the CA certificates in the PEM file @trust_anchors,
 * and nothing else; NULL trusts the system's store.
 */
LkHttp *lk_http_new (const char *trust_anchors, GError **error);
void lk_http_free (LkHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkHttp, lk_http_free)

typedef struct {
  guint status;
  SoupMessageHeaders *headers;
  GBytes *body;
} LkHttpResponse;

void lk_http_response_free (LkHttpResponse *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkHttpResponse, lk_http_response_free)

/* Sends @message, reading at most @max_body bytes of the answer. */
void lk_http_send_async (LkHttp *http,
                         SoupMessage *message,
                         gsize max_body,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data);
LkHttpResponse *lk_http_send_finish (LkHttp *http, GAsyncResult *result, GError **error);

/*
 * The body of @response as a JSON object. @what names the document in
 * errors ("discovery document of https://…").
 */
JsonObject *lk_http_response_json_object (LkHttpResponse *response, const char *what, GError **error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "authz.h"
#include "bus-open.h"
#include "bus-options.h"
#include "error.h"
#include "latchkey-names.h"
#include "log.h"
#include "tokens-object.h"

/* @user_data: the GetToken call, answered once the token is there. */
static void
on_token (GObject *source, GAsyncResult *result, gpointer user_data)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *m = user_data;
  _cleanup_ (sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
  g_autoptr (LkCachedToken) token = NULL;
  g_autoptr (GError) gerror = NULL;
  int r;

  token = lk_tokens_get_finish (result, &gerror);
  if (token != NULL)
    r = sd_bus_reply_method_return (m, "sst", token->token, token->token_type, (uint64_t) token->expires_at);
  else
    {
      lk_error_to_sd_bus (gerror, &error);
      r = sd_bus_reply_method_error (m, &error);
    }
  if (r < 0)
    lk_warning ("tokens", "cannot answer GetToken: %s", g_strerror (-r));
}

static int
method_get_token (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkTokens *tokens = lk_daemon_get_tokens (userdata);
  g_autoptr (LkCaller) caller = NULL;
  g_auto (GStrv) scopes = NULL;
  const char *resource;
  int r;

  r = lk_authz_check (m, LK_TOKENS_INTERFACE, "GetToken", &caller, error);
  if (r < 0)
    return r;
  r = sd_bus_message_read_strv (m, &scopes);
  if (r >= 0)
    r = sd_bus_message_read (m, "s", &resource);
  if (r >= 0)
    r = lk_bus_read_string_option (m, NULL, NULL, error);
  if (r < 0)
    return r;
  if (scopes == NULL || scopes[0] == NULL)
    return sd_bus_error_set (error, SD_BUS_ERROR_INVALID_ARGS, "a token needs at least one scope");
  lk_tokens_get_async (tokens, caller, (const char *const *) scopes, *resource ? resource : NULL, on_token,
                       sd_bus_message_ref (m));
  return 1;
}

static int
method_create_proof (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  LkTokens *tokens = lk_daemon_get_tokens (userdata);
  g_autoptr (LkCaller) caller = NULL;
  g_autoptr (GError) gerror = NULL;
  g_autofree char *proof = NULL;
  const char *method, *url, *access_token, *nonce = NULL;
  int r;

  r = lk_authz_check (m, LK_TOKENS_INTERFACE, "CreateProof", &caller, error);
  if (r < 0)
    return r;
  r = sd_bus_message_read (m, "sss", &method, &url, &access_token);
  if (r >= 0)
    r = lk_bus_read_string_option (m, "nonce", &nonce, error);
  if (r < 0)
    return r;
  proof = lk_tokens_create_proof (tokens, caller, method, url, access_token, nonce, &gerror);
  if (proof == NULL)
    return lk_error_to_sd_bus (gerror, error);
  return sd_bus_reply_method_return (m, "s", proof);
}

static int
method_reload_policy (sd_bus_message *m, void *userdata, sd_bus_error *error)
{
  _cleanup_ (sd_bus_message_unrefp) sd_bus_message *reply = NULL;
  g_autoptr (GPtrArray) problems = NULL;
  g_autoptr (GError) gerror = NULL;
  guint count = 0;
  int r;

  r = lk_authz_check (m, LK_TOKENS_INTERFACE, "ReloadPolicy", NULL, error);
  if (r < 0)
    return r;
  if (!lk_tokens_reload (lk_daemon_get_tokens (userdata), &count, &problems, &gerror))
    return lk_error_to_sd_bus (gerror, error);
  r = sd_bus_message_new_method_return (m, &reply);
  if (r >= 0)
    r = sd_bus_message_append (reply, "u", (uint32_t) count);
  if (r >= 0)
    r = sd_bus_message_open_container (reply, SD_BUS_TYPE_ARRAY, "s");
  for (guint i = 0; r >= 0 && problems != NULL && i < problems->len; i++)
    r = sd_bus_message_append (reply, "s", ((GError *) problems->pdata[i])->message);
  if (r >= 0)
    r = sd_bus_message_close_container (reply);
  if (r < 0)
    return r;
  return sd_bus_send (NULL, reply, NULL);
}

/* As on Device, lk_authz_check() in each handler replaces sd-bus's own check. */
const sd_bus_vtable lk_tokens_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD_WITH_NAMES ("GetToken",
                            "assa{sv}", SD_BUS_PARAM (scopes) SD_BUS_PARAM (resource) SD_BUS_PARAM (options),
                            "sst", SD_BUS_PARAM (token) SD_BUS_PARAM (token_type) SD_BUS_PARAM (expires_at),
                            method_get_token, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("CreateProof",
                            "sssa{sv}",
                            SD_BUS_PARAM (method) SD_BUS_PARAM (url) SD_BUS_PARAM (access_token)
                              SD_BUS_PARAM (options),
                            "s", SD_BUS_PARAM (proof),
                            method_create_proof, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_NAMES ("ReloadPolicy", "", , "uas", SD_BUS_PARAM (apps) SD_BUS_PARAM (problems),
                            method_reload_policy, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_VTABLE_END,
};

int
lk_tokens_object_add (sd_bus *bus, LkDaemon *daemon)
{
  return sd_bus_add_object_vtable (bus, NULL, LK_OBJECT_PATH, LK_TOKENS_INTERFACE, lk_tokens_vtable, daemon);
}

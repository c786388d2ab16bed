/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "oauth-test.h"

#define RESOURCE_SERVER_ID "latchkey-test-resource-server"
#define RESOURCE_SERVER_SECRET "resource-server-test-secret"

LkKeystore *
lk_test_keystore (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LkKeystore) keystore = lk_keystore_open (LK_KEYSTORE_TPM2, lk_test_env ("LATCHKEY_TEST_STATE_DIR"),
                                                      lk_test_env ("LATCHKEY_TEST_TCTI"), &error);

  g_assert_no_error (error);
  g_assert_true (lk_keystore_ensure_device_key (keystore, NULL, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&keystore);
}

LkOAuthClient *
lk_test_oauth_client (LkTestPeer *provider,
                      LkKeystore *keystore,
                      const char *client_id,
                      LkClientAuth client_auth,
                      LkDPoPMode dpop)
{
  g_autoptr (GError) error = NULL;
  LkOAuthClientConfig config = {
    .issuer = lk_test_peer_get (provider, "OIDC_ISSUER"),
    .client_id = client_id,
    .trust_anchors = lk_test_peer_get (provider, "OIDC_CA"),
    .client_auth = client_auth,
    .dpop = dpop,
  };
  LkOAuthClient *client = lk_oauth_client_new (&config, keystore, &error);

  g_assert_no_error (error);
  return client;
}

static JsonNode *
client_node (const char *id, const char *auth_method, gboolean device)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "client_id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "token_endpoint_auth_method");
  json_builder_add_string_value (builder, auth_method);
  json_builder_set_member_name (builder, "grant_types");
  json_builder_begin_array (builder);
  if (device)
    {
      json_builder_add_string_value (builder, "urn:ietf:params:oauth:grant-type:device_code");
      json_builder_add_string_value (builder, "refresh_token");
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "response_types");
  json_builder_begin_array (builder);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "redirect_uris");
  json_builder_begin_array (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

char *
lk_test_clients_json (JsonObject *jwk, const char *kid)
{
  g_autoptr (JsonArray) clients = json_array_new ();
  g_autoptr (JsonNode) root = NULL;
  JsonNode *resource_server = client_node (RESOURCE_SERVER_ID, "client_secret_basic", FALSE);

  json_object_set_string_member (json_node_get_object (resource_server), "client_secret", RESOURCE_SERVER_SECRET);
  json_array_add_element (clients, client_node (LK_TEST_CLIENT_ID, "none", TRUE));
  json_array_add_element (clients, resource_server);
  if (jwk != NULL)
    {
      JsonNode *jwt_client = client_node (LK_TEST_JWT_CLIENT_ID, "private_key_jwt", TRUE);
      JsonObject *jwks = json_object_new ();
      JsonArray *keys = json_array_new ();

      JsonObject *key = json_object_new ();
      g_autoptr (GList) members = json_object_get_members (jwk);

      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_member (key, l->data, json_object_dup_member (jwk, l->data));
      /* Registered as a fleet registers device keys: named by their RFC 7638 thumbprint. */
      json_object_set_string_member (key, "kid", kid);
      json_array_add_object_element (keys, key);
      json_object_set_array_member (jwks, "keys", keys);
      json_object_set_object_member (json_node_get_object (jwt_client), "jwks", jwks);
      json_array_add_element (clients, jwt_client);
    }
  root = json_node_init_array (json_node_alloc (), clients);
  return json_to_string (root, FALSE);
}

JsonObject *
lk_test_introspect (LkTestPeer *provider, const char *token)
{
  g_autofree char *url = g_strconcat (lk_test_peer_get (provider, "OIDC_ISSUER"), "/token/introspection", NULL);
  g_autofree char *form = g_strconcat ("token=", token, NULL);
  const char *argv[] = {
    "curl", "-sS", "--fail-with-body", "--cacert", lk_test_peer_get (provider, "OIDC_CA"),
    "-u", RESOURCE_SERVER_ID ":" RESOURCE_SERVER_SECRET, "--data-urlencode", form, url, NULL,
  };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  if (lk_test_run (argv, &out, &err) != 0)
    g_error ("introspection failed: %s%s", out, err);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

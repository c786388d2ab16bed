/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "error.h"
#include "json-members.h"
#include "grant.h"
#include "tpm/atomic-file.h"
#include "tpm/secret-bytes.h"

#define GRANT_FILE "grant.sealed"
#define GRANT_VERSION 1

void
lk_grant_free (LkGrant *grant)
{
  if (grant == NULL)
    return;
  g_free (grant->issuer);
  g_free (grant->owner_subject);
  g_free (grant->owner_name);
  lk_tpm_secret_string_free (grant->refresh_token);
  g_free (grant);
}

/* The claims of a compact JWS, without checking its signature. */
static JsonObject *
jwt_claims (const char *jwt, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (jwt, ".", -1);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GString) b64 = NULL;
  g_autofree guchar *payload = NULL;
  gsize length = 0;

  if (g_strv_length (parts) != 3)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: not a compact JWS");
      return NULL;
    }
  /* base64url (RFC 7515 §2) into the alphabet and padding GLib reads. */
  b64 = g_string_new (parts[1]);
  g_strdelimit (b64->str, "-", '+');
  g_strdelimit (b64->str, "_", '/');
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  payload = g_base64_decode (b64->str, &length);
  if (length == 0 || !json_parser_load_from_data (parser, (const char *) payload, (gssize) length, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: the claims are not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

LkGrant *
lk_grant_new (const char *issuer, const char *refresh_token, const char *id_token, GError **error)
{
  g_autoptr (LkGrant) grant = g_new0 (LkGrant, 1);
  g_autoptr (JsonObject) claims = NULL;
  const char *sub, *name;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (refresh_token == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL,
                   "the server issued no refresh token (is offline_access in the scopes?)");
      return NULL;
    }
  if (id_token == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "the server issued no ID token (is openid in the scopes?)");
      return NULL;
    }
  claims = jwt_claims (id_token, error);
  if (claims == NULL)
    return NULL;
  sub = lk_json_get_string (claims, "sub");
  if (sub == NULL || *sub == '\0')
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: no sub");
      return NULL;
    }
  if (g_strcmp0 (lk_json_get_string (claims, "iss"), issuer) != 0)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "ID token: iss is not %s", issuer);
      return NULL;
    }
  name = lk_json_get_string (claims, "name");
  if (name == NULL)
    name = lk_json_get_string (claims, "preferred_username");
  if (name == NULL)
    name = sub;

  grant->issuer = g_strdup (issuer);
  grant->owner_subject = g_strdup (sub);
  grant->owner_name = g_strdup (name);
  grant->refresh_token = g_strdup (refresh_token);
  return g_steal_pointer (&grant);
}

gboolean
lk_grant_store (const LkGrant *grant, LkKeystore *keystore, const char *state_dir, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GBytes) blob = NULL;
  g_autofree char *path = g_build_filename (state_dir, GRANT_FILE, NULL);
  char *text;
  gsize length;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, GRANT_VERSION);
  json_builder_set_member_name (builder, "issuer");
  json_builder_add_string_value (builder, grant->issuer);
  json_builder_set_member_name (builder, "owner_subject");
  json_builder_add_string_value (builder, grant->owner_subject);
  json_builder_set_member_name (builder, "owner_name");
  json_builder_add_string_value (builder, grant->owner_name);
  json_builder_set_member_name (builder, "refresh_token");
  json_builder_add_string_value (builder, grant->refresh_token);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &length);
  plain = lk_tpm_secret_bytes_take (text, length);

  blob = lk_keystore_seal (keystore, plain, error);
  if (blob == NULL)
    return FALSE;
  return lk_tpm_write_file_atomic (path, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), error);
}

LkGrant *
lk_grant_load (LkKeystore *keystore, const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, GRANT_FILE, NULL);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (LkGrant) grant = g_new0 (LkGrant, 1);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) blob = NULL;
  g_autoptr (GBytes) plain = NULL;
  g_autofree char *data = NULL;
  JsonObject *object;
  gsize length;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: %s", path, local_error->message);
      return NULL;
    }
  blob = g_bytes_new_take (g_steal_pointer (&data), length);
  plain = lk_keystore_unseal (keystore, blob, &local_error);
  if (plain == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: %s", path, local_error->message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (plain, NULL), (gssize) g_bytes_get_size (plain), NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: not a grant", path);
      return NULL;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  if (json_object_get_int_member_with_default (object, "version", 0) != GRANT_VERSION)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: unknown grant version", path);
      return NULL;
    }
  grant->issuer = g_strdup (lk_json_get_string (object, "issuer"));
  grant->owner_subject = g_strdup (lk_json_get_string (object, "owner_subject"));
  grant->owner_name = g_strdup (lk_json_get_string (object, "owner_name"));
  grant->refresh_token = g_strdup (lk_json_get_string (object, "refresh_token"));
  if (grant->issuer == NULL || grant->owner_subject == NULL || grant->owner_name == NULL
      || grant->refresh_token == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: incomplete grant", path);
      return NULL;
    }
  return g_steal_pointer (&grant);
}

gboolean
lk_grant_wipe (const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, GRANT_FILE, NULL);

  if (g_unlink (path) < 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, LK_ERROR, LK_ERROR_STATE_DIR, "%s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

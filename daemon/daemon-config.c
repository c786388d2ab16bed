/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "config-schema.h"
#include "error.h"
#include "daemon-config.h"
#include "tpm/context.h"

static const char *const key_backend_names[] = {
  [LK_KEYSTORE_TPM2]           = "tpm2",
  [LK_KEYSTORE_SOFTWARE]       = "software",
  [LK_KEYSTORE_SECRET_SERVICE] = "secret-service",
  NULL,
};

static const char *const client_auth_names[] = {
  [LK_CLIENT_AUTH_NONE]            = "none",
  [LK_CLIENT_AUTH_PRIVATE_KEY_JWT] = "private_key_jwt",
  NULL,
};

static const char *const dpop_names[] = {
  [LK_DPOP_AUTO]   = "auto",
  [LK_DPOP_ALWAYS] = "always",
  [LK_DPOP_NEVER]  = "never",
  NULL,
};

static const LkConfigKey schema[] = {
  { "Daemon", "LogLevel",   LK_CONFIG_CHOICE, lk_log_level_names },
  { "Daemon", "AdminGroup", LK_CONFIG_STRING },
  { "Device", "KeyBackend", LK_CONFIG_CHOICE, key_backend_names },
  { "Device", "Tcti",       LK_CONFIG_STRING },
  { "Device", "SealPcrs",   LK_CONFIG_UINT_LIST, NULL, 0, 23 },
  { "Pairing", "Issuer",     LK_CONFIG_STRING },
  { "Pairing", "ClientId",   LK_CONFIG_STRING },
  { "Pairing", "Scopes",     LK_CONFIG_STRING },
  { "Pairing", "Resources",  LK_CONFIG_STRING },
  { "Pairing", "TrustAnchors", LK_CONFIG_STRING },
  { "Pairing", "MaxAttemptsPerHour", LK_CONFIG_UINT, NULL, 1, 1000 },
  { "Pairing", "ClientAuthentication", LK_CONFIG_CHOICE, client_auth_names },
  { "Pairing", "DPoP",       LK_CONFIG_CHOICE, dpop_names },
  { "Pairing", "RefreshMargin", LK_CONFIG_UINT, NULL, 0, 3600 },
  { "Tokens", "PolicyDirectory", LK_CONFIG_STRING },
  { "Tokens", "CacheMargin",  LK_CONFIG_UINT, NULL, 0, 3600 },
  { "Tokens", "RateLimit",    LK_CONFIG_UINT, NULL, 1, 100000 },
  { "Tokens", "RateBurst",    LK_CONFIG_UINT, NULL, 1, 10000 },
  { "Login", "Claim",         LK_CONFIG_STRING },
  { "Login", "Scopes",        LK_CONFIG_STRING },
  { "Login", "Allow.*",       LK_CONFIG_STRING },
  { "Login", "OwnerUsers",    LK_CONFIG_STRING },
  { "Login", "MaxFailures",   LK_CONFIG_UINT, NULL, 1, 1000 },
  { "Login", "FailureWindow", LK_CONFIG_UINT, NULL, 1, 86400 },
  { "Login", "LockoutDuration", LK_CONFIG_UINT, NULL, 1, 86400 },
  { "Login", "ClockSkew",     LK_CONFIG_UINT, NULL, 0, 300 },
  { "Enrollment", "Url",          LK_CONFIG_STRING },
  { "Enrollment", "Label",        LK_CONFIG_STRING },
  { "Enrollment", "TrustAnchors", LK_CONFIG_STRING },
  { "Enrollment", "Subject",      LK_CONFIG_STRING },
  { "Enrollment", "BootstrapCertificate", LK_CONFIG_STRING },
  { "Enrollment", "BootstrapKey",         LK_CONFIG_STRING },
  { "Enrollment", "BootstrapUser",        LK_CONFIG_STRING },
  { "Enrollment", "BootstrapPassword",    LK_CONFIG_STRING },
  { "Enrollment", "RenewAtPercent",     LK_CONFIG_UINT, NULL, 10, 90 },
  { "Enrollment", "RenewJitterPercent", LK_CONFIG_UINT, NULL, 0, 20 },
  { "Enrollment", "RetryFirst",         LK_CONFIG_UINT, NULL, 1, 3600 },
  { "Enrollment", "RetryMax",           LK_CONFIG_UINT, NULL, 1, 86400 },
};

/* A [group] key that lk_config_schema_load() accepted, or @fallback when absent. */
static guint
get_uint (GKeyFile *kf, const char *group, const char *key, guint fallback)
{
  if (!g_key_file_has_key (kf, group, key, NULL))
    return fallback;
  return (guint) g_key_file_get_uint64 (kf, group, key, NULL);
}

static guint
choice_index (const char *const *choices, const char *value)
{
  for (guint i = 0; choices[i] != NULL; i++)
    if (g_str_equal (choices[i], value))
      return i;
  g_assert_not_reached ();
}

/* RFC 8707 §2: absolute URIs without a fragment; https, since tokens are sent there. */
static GStrv
parse_resources (const char *path, const char *value, GError **error)
{
  g_auto (GStrv) items = g_strsplit_set (value ? value : "", " \t", -1);
  g_autoptr (GStrvBuilder) resources = g_strv_builder_new ();

  for (guint i = 0; items[i] != NULL; i++)
    {
      g_autoptr (GUri) uri = NULL;

      if (*items[i] == '\0')
        continue;
      uri = g_uri_parse (items[i], G_URI_FLAGS_NONE, NULL);
      if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_fragment (uri) != NULL)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                       "%s: [Pairing] Resources: “%s” is not an https URI without a fragment", path, items[i]);
          return NULL;
        }
      g_strv_builder_add (resources, items[i]);
    }
  return g_strv_builder_end (resources);
}

/* A space-separated list of words, possibly empty. */
static GStrv
split_words (const char *value)
{
  g_auto (GStrv) items = g_strsplit_set (value ? value : "", " \t", -1);
  g_autoptr (GStrvBuilder) words = g_strv_builder_new ();

  for (gsize i = 0; items[i] != NULL; i++)
    if (*items[i] != '\0')
      g_strv_builder_add (words, items[i]);
  return g_strv_builder_end (words);
}

/* [Login]: who may log in as whom. Absent, console login is off. */
static gboolean
load_login (LkConfig *config, GKeyFile *kf, const char *path, GError **error)
{
  g_auto (GStrv) keys = NULL;
  g_auto (GStrv) scopes = NULL;
  g_autofree char *value = NULL;

  config->login_allow = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  config->login_enabled = g_key_file_has_group (kf, "Login");
  if (config->login_enabled && config->pairing_issuer == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Login]: needs [Pairing] Issuer", path);
      return FALSE;
    }

  config->login_claim = g_key_file_get_string (kf, "Login", "Claim", NULL);
  if (config->login_claim == NULL)
    config->login_claim = g_strdup ("preferred_username");

  /* The ID token needs openid; the claim usually needs another scope, named here. */
  value = g_key_file_get_string (kf, "Login", "Scopes", NULL);
  scopes = split_words (value ? value : "profile");
  g_clear_pointer (&value, g_free);
  {
    g_autoptr (GString) all = g_string_new ("openid");

    for (gsize i = 0; scopes[i] != NULL; i++)
      if (!g_str_equal (scopes[i], "openid"))
        g_string_append_printf (all, " %s", scopes[i]);
    config->login_scopes = g_string_free (g_steal_pointer (&all), FALSE);
  }

  value = g_key_file_get_string (kf, "Login", "OwnerUsers", NULL);
  config->login_owner_users = split_words (value);

  keys = g_key_file_get_keys (kf, "Login", NULL, NULL);
  for (gsize i = 0; keys != NULL && keys[i] != NULL; i++)
    if (g_str_has_prefix (keys[i], "Allow."))
      {
        g_autofree char *list = g_key_file_get_string (kf, "Login", keys[i], NULL);

        g_hash_table_replace (config->login_allow, g_strdup (keys[i] + strlen ("Allow.")), split_words (list));
      }

  config->login_max_failures = get_uint (kf, "Login", "MaxFailures", 5);
  config->login_failure_window = get_uint (kf, "Login", "FailureWindow", 300);
  config->login_lockout = get_uint (kf, "Login", "LockoutDuration", 900);
  config->login_clock_skew = get_uint (kf, "Login", "ClockSkew", 60);
  return TRUE;
}

/*
 * A bootstrap secret's file: a path, or "credential:NAME" for a systemd
 * credential (systemd.exec(5) LoadCredential=), found in
 * $CREDENTIALS_DIRECTORY.
 */
static gboolean
resolve_secret_path (GKeyFile *kf, const char *path, const char *key, char **ret_path, GError **error)
{
  g_autofree char *value = g_key_file_get_string (kf, "Enrollment", key, NULL);
  const char *directory;

  if (value == NULL || !g_str_has_prefix (value, "credential:"))
    {
      *ret_path = g_steal_pointer (&value);
      return TRUE;
    }
  directory = g_getenv ("CREDENTIALS_DIRECTORY");
  if (directory == NULL || strchr (value + strlen ("credential:"), '/') != NULL
      || value[strlen ("credential:")] == '\0')
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] %s: %s", path, key,
                   directory == NULL ? "names a credential, but $CREDENTIALS_DIRECTORY is not set"
                                     : "not a credential name");
      return FALSE;
    }
  *ret_path = g_build_filename (directory, value + strlen ("credential:"), NULL);
  return TRUE;
}

/* The subject with %m (the machine ID) and %H (the host name) expanded. */
static char *
expand_subject (const char *subject)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (const char *p = subject; *p != '\0'; p++)
    {
      if (p[0] == '%' && p[1] == 'm')
        {
          g_autofree char *id = NULL;

          if (g_file_get_contents ("/etc/machine-id", &id, NULL, NULL))
            g_string_append (out, g_strstrip (id));
          p++;
        }
      else if (p[0] == '%' && p[1] == 'H')
        {
          g_string_append (out, g_get_host_name ());
          p++;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
load_enrollment (GKeyFile *kf, const char *path, LkConfig *config, GError **error)
{
  g_autofree char *subject = NULL;
  g_autoptr (GUri) uri = NULL;

  config->est_url = g_key_file_get_string (kf, "Enrollment", "Url", NULL);
  config->est_label = g_key_file_get_string (kf, "Enrollment", "Label", NULL);
  config->est_trust_anchors = g_key_file_get_string (kf, "Enrollment", "TrustAnchors", NULL);
  config->bootstrap_user = g_key_file_get_string (kf, "Enrollment", "BootstrapUser", NULL);
  subject = g_key_file_get_string (kf, "Enrollment", "Subject", NULL);
  config->est_subject = expand_subject (subject ? subject : "CN=%m");
  config->renew_percent = get_uint (kf, "Enrollment", "RenewAtPercent", 67);
  config->renew_jitter_percent = get_uint (kf, "Enrollment", "RenewJitterPercent", 5);
  config->retry_first = get_uint (kf, "Enrollment", "RetryFirst", 30);
  config->retry_max = get_uint (kf, "Enrollment", "RetryMax", 3600);
  if (!resolve_secret_path (kf, path, "BootstrapCertificate", &config->bootstrap_cert, error)
      || !resolve_secret_path (kf, path, "BootstrapKey", &config->bootstrap_key, error)
      || !resolve_secret_path (kf, path, "BootstrapPassword", &config->bootstrap_password, error))
    return FALSE;

  if (config->est_url == NULL)
    {
      if (g_key_file_has_group (kf, "Enrollment"))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] Url: needed in [Enrollment]", path);
          return FALSE;
        }
      return TRUE;
    }
  uri = g_uri_parse (config->est_url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "https") != 0 || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] Url: “%s” is not an https URL", path,
                   config->est_url);
      return FALSE;
    }
  /* RFC 7030 §3.6: the EST server is verified against its own anchors, never the system's. */
  if (config->est_trust_anchors == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] TrustAnchors: needed with Url", path);
      return FALSE;
    }
  if (config->est_label != NULL && strspn (config->est_label, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                               "0123456789-._~") != strlen (config->est_label))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] Label: “%s” is not a path segment", path,
                   config->est_label);
      return FALSE;
    }
  if ((config->bootstrap_cert == NULL) != (config->bootstrap_key == NULL)
      || (config->bootstrap_user == NULL) != (config->bootstrap_password == NULL))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] %s", path,
                   (config->bootstrap_cert == NULL) != (config->bootstrap_key == NULL)
                     ? "BootstrapCertificate and BootstrapKey go together"
                     : "BootstrapUser and BootstrapPassword go together");
      return FALSE;
    }
  if (config->retry_first > config->retry_max)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] RetryFirst: more than RetryMax", path);
      return FALSE;
    }
  /* The enrolled key is rotated in the TPM at each renewal. */
  if (config->key_backend != LK_KEYSTORE_TPM2)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Enrollment] needs KeyBackend=tpm2", path);
      return FALSE;
    }
  return TRUE;
}

LkConfig *
lk_config_load (const char *path, GError **error)
{
  g_autoptr (LkConfig) config = g_new0 (LkConfig, 1);
  g_autoptr (GKeyFile) kf = NULL;
  g_autofree char *value = NULL;
  g_autoptr (GArray) pcrs = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  kf = lk_config_schema_load (path, schema, G_N_ELEMENTS (schema), error);
  if (kf == NULL)
    return NULL;

  config->path = g_strdup (path);

  config->log_level = LK_LOG_INFO;
  value = g_key_file_get_string (kf, "Daemon", "LogLevel", NULL);
  if (value != NULL)
    lk_log_level_from_string (value, &config->log_level);
  g_clear_pointer (&value, g_free);

  config->admin_group = g_key_file_get_string (kf, "Daemon", "AdminGroup", NULL);

  config->key_backend = LK_KEYSTORE_TPM2;
  value = g_key_file_get_string (kf, "Device", "KeyBackend", NULL);
  if (value != NULL)
    config->key_backend = choice_index (key_backend_names, value);
  if (!lk_keystore_backend_is_built (config->key_backend))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG,
                   "%s: [Device] KeyBackend: this latchkeyd was built without the %s keystore "
                   "(configure --disable-%s)", path, value, value);
      return NULL;
    }

  config->tcti = g_key_file_get_string (kf, "Device", "Tcti", NULL);
  if (config->tcti == NULL)
    config->tcti = g_strdup (LK_TPM_DEFAULT_TCTI);

  pcrs = lk_config_get_uint_list (kf, "Device", "SealPcrs");
  config->seal_pcrs = g_byte_array_new ();
  for (guint i = 0; i < pcrs->len; i++)
    {
      guint8 pcr = (guint8) g_array_index (pcrs, guint64, i);
      g_byte_array_append (config->seal_pcrs, &pcr, 1);
    }
  config->pairing_issuer = g_key_file_get_string (kf, "Pairing", "Issuer", NULL);
  config->pairing_client_id = g_key_file_get_string (kf, "Pairing", "ClientId", NULL);
  if (config->pairing_issuer != NULL && config->pairing_client_id == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Pairing] ClientId: needed with Issuer", path);
      return NULL;
    }
  config->pairing_scopes = g_key_file_get_string (kf, "Pairing", "Scopes", NULL);
  if (config->pairing_scopes == NULL)
    config->pairing_scopes = g_strdup ("openid offline_access");
  config->pairing_trust_anchors = g_key_file_get_string (kf, "Pairing", "TrustAnchors", NULL);
  g_clear_pointer (&value, g_free);
  value = g_key_file_get_string (kf, "Pairing", "Resources", NULL);
  config->pairing_resources = parse_resources (path, value, error);
  if (config->pairing_resources == NULL)
    return NULL;
  config->pairing_max_per_hour = get_uint (kf, "Pairing", "MaxAttemptsPerHour", 10);

  g_clear_pointer (&value, g_free);
  value = g_key_file_get_string (kf, "Pairing", "ClientAuthentication", NULL);
  config->pairing_client_auth = value ? choice_index (client_auth_names, value) : LK_CLIENT_AUTH_NONE;
  g_clear_pointer (&value, g_free);
  value = g_key_file_get_string (kf, "Pairing", "DPoP", NULL);
  config->pairing_dpop = value ? choice_index (dpop_names, value) : LK_DPOP_AUTO;
  config->refresh_margin = get_uint (kf, "Pairing", "RefreshMargin", 60);

  config->policy_dir = g_key_file_get_string (kf, "Tokens", "PolicyDirectory", NULL);
  if (config->policy_dir == NULL)
    config->policy_dir = g_strdup (SYSCONFDIR "/latchkey/apps.d");
  config->cache_margin = get_uint (kf, "Tokens", "CacheMargin", 30);
  config->rate_per_minute = get_uint (kf, "Tokens", "RateLimit", 120);
  config->rate_burst = get_uint (kf, "Tokens", "RateBurst", 20);

  if (!load_login (config, kf, path, error) || !load_enrollment (kf, path, config, error))
    return NULL;

  /* Only a TPM can tie a secret to the boot chain. */
  if (config->seal_pcrs->len > 0 && config->key_backend != LK_KEYSTORE_TPM2)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "%s: [Device] SealPcrs: needs KeyBackend=tpm2", path);
      return NULL;
    }

  return g_steal_pointer (&config);
}

void
lk_config_free (LkConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->admin_group);
  g_free (config->tcti);
  g_free (config->pairing_issuer);
  g_free (config->pairing_client_id);
  g_free (config->pairing_scopes);
  g_free (config->pairing_trust_anchors);
  g_strfreev (config->pairing_resources);
  g_free (config->policy_dir);
  g_free (config->login_claim);
  g_free (config->login_scopes);
  g_clear_pointer (&config->login_allow, g_hash_table_unref);
  g_strfreev (config->login_owner_users);
  g_free (config->est_url);
  g_free (config->est_label);
  g_free (config->est_trust_anchors);
  g_free (config->est_subject);
  g_free (config->bootstrap_cert);
  g_free (config->bootstrap_key);
  g_free (config->bootstrap_user);
  g_free (config->bootstrap_password);
  if (config->seal_pcrs != NULL)
    g_byte_array_unref (config->seal_pcrs);
  g_free (config);
}

const char *
lk_key_backend_to_string (LkKeystoreBackend backend)
{
  g_return_val_if_fail (backend < G_N_ELEMENTS (key_backend_names) - 1, NULL);
  return key_backend_names[backend];
}

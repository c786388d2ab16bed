/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "log.h"
#include "oauth-client.h"
#include "tpm/keystore.h"

/* latchkey.conf(5), parsed and checked: every field has a value. */
typedef struct {
  char *path;
  LkLogLevel log_level;       /* [Daemon] LogLevel */
  char *admin_group;          /* [Daemon] AdminGroup, NULL when unset */
  LkKeystoreBackend key_backend;  /* [Device] KeyBackend */
  char *tcti;                     /* [Device] Tcti */
  GByteArray *seal_pcrs;          /* [Device] SealPcrs, empty for none */
  char *pairing_issuer;           /* [Pairing] Issuer, NULL: no pairing */
  char *pairing_client_id;        /* [Pairing] ClientId */
  char *pairing_scopes;           /* [Pairing] Scopes */
  char *pairing_trust_anchors;    /* [Pairing] TrustAnchors, NULL: system store */
  GStrv pairing_resources;        /* [Pairing] Resources, possibly empty */
  guint pairing_max_per_hour;     /* [Pairing] MaxAttemptsPerHour */
  LkClientAuth pairing_client_auth;  /* [Pairing] ClientAuthentication */
  LkDPoPMode pairing_dpop;           /* [Pairing] DPoP */
  guint refresh_margin;              /* [Pairing] RefreshMargin, seconds */
  char *policy_dir;               /* [Tokens] PolicyDirectory */
  guint cache_margin;             /* [Tokens] CacheMargin, seconds */
  guint rate_per_minute;          /* [Tokens] RateLimit, per app */
  guint rate_burst;               /* [Tokens] RateBurst */
  gboolean login_enabled;         /* a [Login] group is present */
  char *login_claim;              /* [Login] Claim */
  char *login_scopes;             /* [Login] Scopes, "openid" first */
  GHashTable *login_allow;        /* [Login] Allow.<user>: local user → GStrv of claim values */
  GStrv login_owner_users;        /* [Login] OwnerUsers, possibly empty */
  guint login_max_failures;       /* [Login] MaxFailures */
  guint login_failure_window;     /* [Login] FailureWindow, seconds */
  guint login_lockout;            /* [Login] LockoutDuration, seconds */
  guint login_clock_skew;         /* [Login] ClockSkew, seconds */
  char *est_url;                  /* [Enrollment] Url, NULL: no enrollment */
  char *est_label;                /* [Enrollment] Label, NULL for none */
  char *est_trust_anchors;        /* [Enrollment] TrustAnchors, needed with Url */
  char *est_subject;              /* [Enrollment] Subject, %m and %H expanded */
  char *bootstrap_cert;           /* [Enrollment] BootstrapCertificate, a path (credentials resolved) */
  char *bootstrap_key;            /* [Enrollment] BootstrapKey */
  char *bootstrap_user;           /* [Enrollment] BootstrapUser */
  char *bootstrap_password;       /* [Enrollment] BootstrapPassword: the path of a file holding it */
  guint renew_percent;            /* [Enrollment] RenewAtPercent */
  guint renew_jitter_percent;     /* [Enrollment] RenewJitterPercent */
  guint retry_first;              /* [Enrollment] RetryFirst, seconds */
  guint retry_max;                /* [Enrollment] RetryMax, seconds */
} LkConfig;

LkConfig *lk_config_load (const char *path, GError **error);
void lk_config_free (LkConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkConfig, lk_config_free)

const char *lk_key_backend_to_string (LkKeystoreBackend backend);

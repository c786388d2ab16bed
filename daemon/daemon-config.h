/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "log.h"

/* Where the device's keys and sealed secrets live. */
typedef enum {
  LK_KEY_BACKEND_TPM2,
  LK_KEY_BACKEND_SOFTWARE,
  LK_KEY_BACKEND_SECRET_SERVICE,
} LkKeyBackend;

/* latchkey.conf(5), parsed and checked: every field has a value. */
typedef struct {
  char *path;
  LkLogLevel log_level;       /* [Daemon] LogLevel */
  char *admin_group;          /* [Daemon] AdminGroup, NULL when unset */
  LkKeyBackend key_backend;   /* [Device] KeyBackend */
} LkConfig;

LkConfig *lk_config_load (const char *path, GError **error);
void lk_config_free (LkConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkConfig, lk_config_free)

const char *lk_key_backend_to_string (LkKeyBackend backend);

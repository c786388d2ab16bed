/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

/*
 * Reading the members of a server's JSON answer, strictly: a member of the
 * wrong type is an LK_ERROR_PROTOCOL naming @what and the member, never a
 * silent default.
 */

/*
 * The string value of @member, or NULL when it is absent or not a string:
 * json-glib's own getters complain (a critical) about a member of another
 * type, which a server chooses.
 */
const char *lk_json_get_string (JsonObject *object, const char *member);

/* A member that must be a non-empty string when present; @required says whether it must be. */
gboolean lk_json_read_string (JsonObject *object,
                              const char *member,
                              gboolean required,
                              const char *what,
                              char **ret_value,
                              GError **error);

/* A member that must be an integer from 1 to @max when present. */
gboolean lk_json_read_uint (JsonObject *object,
                            const char *member,
                            gboolean required,
                            guint max,
                            const char *what,
                            guint *ret_value,
                            GError **error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "base64url.h"
#include "error.h"

GBytes *
lk_base64url_decode (const char *text, gsize length, GError **error)
{
  g_autoptr (GString) b64 = g_string_sized_new (length + 3);
  guchar *data;
  gsize size = 0;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A length of 1 mod 4 cannot be the end of any encoding. */
  if (length % 4 == 1)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "not base64url: bad length");
      return NULL;
    }
  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (c == '-')
        c = '+';
      else if (c == '_')
        c = '/';
      else if (!g_ascii_isalnum (c))
        {
          g_set_error_literal (error, LK_ERROR, LK_ERROR_PROTOCOL, "not base64url: a character outside the alphabet");
          return NULL;
        }
      g_string_append_c (b64, c);
    }
  while (b64->len % 4 != 0)
    g_string_append_c (b64, '=');
  data = g_base64_decode (b64->str, &size);
  return g_bytes_new_take (data, size);
}

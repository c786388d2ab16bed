/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "qr-text.h"

/* QR codes need four modules of quiet zone; two read fine on a screen. */
#define QUIET 2

static int
dark (const QRcode *qr, int x, int y)
{
  if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
    return 0;
  return qr->data[y * qr->width + x] & 1;
}

char *
lk_qr_text (const char *text)
{
  /* Upper and lower module of each character cell, light = drawn. */
  static const char *const cells[2][2] = {
    { "█", "▀" },   /* upper light: lower light, lower dark */
    { "▄", " " },   /* upper dark: lower light, lower dark */
  };
  QRcode *qr = QRcode_encodeString (text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
  size_t size, used = 0;
  char *out;
  int side;

  if (qr == NULL)
    return NULL;
  side = qr->width + 2 * QUIET;
  /* Each cell is at most 3 bytes of UTF-8; a newline per line. */
  size = (size_t) side * 3 * ((size_t) side / 2 + 1) + (size_t) side + 1;
  out = malloc (size);
  if (out == NULL)
    {
      QRcode_free (qr);
      errno = ENOMEM;
      return NULL;
    }

  for (int y = -QUIET; y < qr->width + QUIET; y += 2)
    {
      for (int x = -QUIET; x < qr->width + QUIET; x++)
        {
          const char *cell = cells[dark (qr, x, y)][dark (qr, x, y + 1)];
          size_t n = strlen (cell);

          memcpy (out + used, cell, n);
          used += n;
        }
      out[used++] = '\n';
    }
  out[used] = '\0';
  QRcode_free (qr);
  return out;
}

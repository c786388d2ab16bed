/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A QR code of @text drawn with Unicode half blocks, two modules a
 * character, light modules as blocks so that it scans on a dark terminal,
 * with the quiet zone around it. Plain C (the PAM module uses it too).
 * Returns a malloc()ed string of lines, or NULL (errno set).
 */
char *lk_qr_text (const char *text);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MESSAGE_IDs of the daemon's security events. They are published in the
 * journal catalog (data/latchkey.catalog): never change one, add new ones.
 */
#define LK_MESSAGE_STARTED        "cbad5e8a213848fc815ae01934952815"
#define LK_MESSAGE_ACCESS_DENIED  "b4a1c2256b0740de9116694ffbf706eb"
#define LK_MESSAGE_LOG_LEVEL      "3eead3ae259e4021bc5e1639b77f8808"

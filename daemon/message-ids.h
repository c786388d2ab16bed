/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MESSAGE_IDs of the daemon's security events. They are published in the
 * journal catalog (data/latchkey.catalog): never change one, add new ones.
 */
#define LK_MESSAGE_STARTED        "cbad5e8a213848fc815ae01934952815"
#define LK_MESSAGE_ACCESS_DENIED  "b4a1c2256b0740de9116694ffbf706eb"
#define LK_MESSAGE_LOG_LEVEL      "3eead3ae259e4021bc5e1639b77f8808"
#define LK_MESSAGE_PAIRING_STARTED       "9a1b1a7b4ec845ba89f3be156ba9f120"
#define LK_MESSAGE_PAIRING_APPROVED      "6f1cbbc900214ab2ba780b45cac66e34"
#define LK_MESSAGE_PAIRING_DENIED        "61ca8d5d8d8e41f0a4edd825329fbf95"
#define LK_MESSAGE_PAIRING_EXPIRED       "0856d6a903874735ae5c34f2a4d485cc"
#define LK_MESSAGE_PAIRING_RATE_LIMITED  "3431c551b25b40098a153959853740c2"
#define LK_MESSAGE_PAIRING_ENDED         "046ef4572e06415ca32bf490f2e752e4"
#define LK_MESSAGE_UNPAIRED              "6f3f24238eaf4a1a9c424d41f7b6ae2b"
#define LK_MESSAGE_TOKEN_REFRESHED       "163266cc26d34ba6b1e21c027605a74b"
#define LK_MESSAGE_REFRESH_FAILED        "7417c719262b4841b8572312df75aaf6"
#define LK_MESSAGE_GRANT_REVOKED         "c102e588a593448cb3601dd266c904a0"
#define LK_MESSAGE_TOKEN_ISSUED          "b17e9519f85c4c17bc0033f26c0b6c1d"
#define LK_MESSAGE_TOKEN_DENIED          "4fc265465f6f42a49ca483eaa1a7b236"
#define LK_MESSAGE_TOKEN_RATE_LIMITED    "cc2ec3d5645441e888e9af9ddd61a2b1"
#define LK_MESSAGE_POLICY_REJECTED       "62b17f2bafc740138c34b3db6d201f02"

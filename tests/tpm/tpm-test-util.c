/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tests/tpm/tpm-test-util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "tpm/seal.h"

struct _LkTestSwtpm {
  char *state_dir;
  char *tcti;
  guint16 port;
  guint16 ctrl_port;
};

static const char *
require_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    {
      /* A TPM test that silently skips proves nothing: fail loudly. */
      printf ("Bail out! %s is not set; run through the test harness\n", name);
      exit (1);
    }
  return value;
}

void
lk_test_init (int    *argc,
              char ***argv)
{
  /* Loopback only: no proxy lookups (libproxy's C++ exceptions also trip
   * clang's AddressSanitizer), no desktop settings. */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_test_init (argc, argv, NULL);
  require_env ("LATCHKEY_TEST_TCTI");
  /* Temporary directories then land in the harness's per-test directory,
   * which it removes even if a test crashes. */
  g_setenv ("TMPDIR", require_env ("LATCHKEY_TEST_DIR"), TRUE);
}

const char *
lk_test_tcti (void)
{
  return require_env ("LATCHKEY_TEST_TCTI");
}

/* Binds a loopback port (0: any) and returns it, or 0 if taken. */
static guint16
bind_port (guint16 port)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  if (!g_socket_bind (socket, address, FALSE, NULL))
    return 0;
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
port_is_free (guint16 port)
{
  return port != 0 && bind_port (port) == port;
}

guint16
lk_test_free_port (void)
{
  guint16 port = bind_port (0);

  g_assert_cmpuint (port, !=, 0);
  return port;
}

static gboolean
port_accepts (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return conn != NULL;
}

void
lk_test_wait_for_port (guint16 port)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!port_accepts (port))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Nothing listens on port %u", port);
      g_usleep (20 * 1000);
    }
}

char *
lk_test_run (const char * const  *argv,
             const char * const  *extra_env,
             GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (; extra_env != NULL && *extra_env != NULL; extra_env += 2)
    g_subprocess_launcher_setenv (launcher, extra_env[0], extra_env[1], TRUE);

  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (process == NULL ||
      !g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, error))
    return NULL;

  if (!g_subprocess_get_successful (process))
    {
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
                   "%s failed: %s%s", argv[0], out, err);
      return NULL;
    }
  return g_steal_pointer (&out);
}

GBytes *
lk_test_seal (LkTpmContext *ctx,
              GBytes       *secret,
              guint32       pcr_mask)
{
  g_autoptr(GError) error = NULL;
  GBytes *blob = lk_tpm_seal_to_pcrs (ctx, secret, pcr_mask, &error);

  g_assert_no_error (error);
  g_assert_nonnull (blob);
  return blob;
}

void
lk_test_assert_unseals_to (LkTpmContext *ctx,
                           GBytes       *blob,
                           GBytes       *secret)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) unsealed = lk_tpm_unseal (ctx, blob, &error);

  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (unsealed, secret));
}

char *
lk_test_tpm_tool (const char * const  *argv,
                  GError             **error)
{
  /* Unset, both would silently probe /dev/tpmrm0. */
  const char *env[] = {
    "TPM2TOOLS_TCTI", lk_test_tcti (),
    "TPM2OPENSSL_TCTI", lk_test_tcti (),
    NULL
  };

  return lk_test_run (argv, env, error);
}

char *
lk_test_tpm_tool_ok (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  char *out = lk_test_tpm_tool (argv, &error);

  g_assert_no_error (error);
  return out;
}

char *
lk_test_make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("lk-tpm-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
lk_test_remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                        NULL, NULL);
  while (children != NULL &&
         (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        lk_test_remove_tree (child);
      else
        g_unlink (child);
      g_object_unref (info);
    }
  g_rmdir (path);
}

static void
swtpm_start (const char *state_dir,
             guint16     port,
             guint16     ctrl_port)
{
  g_autofree char *server = g_strdup_printf ("type=tcp,port=%u,bindaddr=127.0.0.1", port);
  g_autofree char *ctrl = g_strdup_printf ("type=tcp,port=%u,bindaddr=127.0.0.1", ctrl_port);
  g_autofree char *state = g_strdup_printf ("dir=%s", state_dir);
  g_autofree char *pid = g_strdup_printf ("file=%s/pid", state_dir);
  const char *argv[] = {
    "swtpm", "socket", "--tpm2",
    "--server", server, "--ctrl", ctrl, "--tpmstate", state,
    "--flags", "not-need-init,startup-clear", "--daemon", "--pid", pid, NULL
  };
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  /* A port just given up may be probed by another test for an instant, or
   * still hold the killed swtpm's connections: try again for a while. */
  for (;;)
    {
      g_autoptr(GError) error = NULL;

      g_free (lk_test_run (argv, NULL, &error));
      if (error == NULL)
        break;
      if (strstr (error->message, "Address already in use") == NULL ||
          g_get_monotonic_time () > deadline)
        g_assert_no_error (error);
      g_usleep (50 * 1000);
    }
  lk_test_wait_for_port (port);
}

static void
swtpm_kill (const char *state_dir)
{
  g_autofree char *pid_file = g_build_filename (state_dir, "pid", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  pid_t pid;

  g_file_get_contents (pid_file, &text, NULL, &error);
  g_assert_no_error (error);
  pid = (pid_t) g_ascii_strtoll (text, NULL, 10);
  g_assert_cmpint (pid, >, 1);

  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  /* Not our child: poll until it is gone so its ports are free again. */
  while (kill (pid, 0) == 0 || errno != ESRCH)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10 * 1000);
    }
}

static guint16
tcti_port (const char *tcti)
{
  const char *port = strstr (tcti, "port=");

  g_assert_nonnull (port);
  return (guint16) g_ascii_strtoull (port + strlen ("port="), NULL, 10);
}

void
lk_test_swtpm_kill (void)
{
  swtpm_kill (require_env ("LATCHKEY_TEST_SWTPM_STATE"));
}

void
lk_test_swtpm_restart (void)
{
  const char *ctrl = require_env ("LATCHKEY_TEST_SWTPM_CTRL_PORT");

  swtpm_start (require_env ("LATCHKEY_TEST_SWTPM_STATE"),
               tcti_port (lk_test_tcti ()),
               (guint16) g_ascii_strtoull (ctrl, NULL, 10));
}

LkTestSwtpm *
lk_test_swtpm_new (void)
{
  LkTestSwtpm *self = g_new0 (LkTestSwtpm, 1);

  self->state_dir = lk_test_make_tmp_dir ();
  /* The swtpm TCTI expects the control channel on the next port. */
  do
    self->port = lk_test_free_port ();
  while (!port_is_free ((guint16) (self->port + 1)));
  self->ctrl_port = self->port + 1;
  self->tcti = g_strdup_printf ("swtpm:host=127.0.0.1,port=%u", self->port);
  swtpm_start (self->state_dir, self->port, self->ctrl_port);
  return self;
}

const char *
lk_test_swtpm_get_tcti (LkTestSwtpm *self)
{
  return self->tcti;
}

void
lk_test_swtpm_free (LkTestSwtpm *self)
{
  swtpm_kill (self->state_dir);
  lk_test_remove_tree (self->state_dir);
  g_free (self->state_dir);
  g_free (self->tcti);
  g_free (self);
}

GBytes *
lk_test_random_bytes (gsize len)
{
  guint8 *data = g_malloc (len + 1);

  g_assert_cmpint (gnutls_rnd (GNUTLS_RND_NONCE, data, len), ==, 0);
  return g_bytes_new_take (data, len);
}

char *
lk_test_pem_wrap (const char   *label,
                  const guint8 *der,
                  gsize         len)
{
  const gnutls_datum_t datum = { (unsigned char *) der, (unsigned) len };
  gnutls_datum_t pem;
  char *text;

  g_assert_cmpint (gnutls_pem_base64_encode2 (label, &datum, &pem), ==, 0);
  text = g_strndup ((const char *) pem.data, pem.size);
  gnutls_free (pem.data);
  return text;
}

static gnutls_pubkey_t
import_spki (GBytes *spki)
{
  gnutls_pubkey_t pubkey;
  gsize len;
  const gnutls_datum_t der = {
    (unsigned char *) g_bytes_get_data (spki, &len), (unsigned) len
  };

  g_assert_cmpint (gnutls_pubkey_init (&pubkey), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import (pubkey, &der, GNUTLS_X509_FMT_DER), ==, 0);
  return pubkey;
}

/**
 * lk_test_assert_signature_valid:
 * @spki: the DER SubjectPublicKeyInfo to verify with
 * @format: %LK_TPM_SIGNATURE_RAW signatures must be r || s, 32 bytes each
 */
void
lk_test_assert_signature_valid (GBytes               *spki,
                                const guint8          digest[32],
                                GBytes               *signature,
                                LkTpmSignatureFormat  format)
{
  gnutls_pubkey_t pubkey = import_spki (spki);
  const gnutls_datum_t hash = { (unsigned char *) digest, 32 };
  gsize len;
  const guint8 *data = g_bytes_get_data (signature, &len);
  gnutls_datum_t der = { (unsigned char *) data, (unsigned) len };

  if (format == LK_TPM_SIGNATURE_RAW)
    {
      const gnutls_datum_t r = { (unsigned char *) data, 32 };
      const gnutls_datum_t s = { (unsigned char *) data + 32, 32 };

      g_assert_cmpuint (len, ==, 64);
      g_assert_cmpint (gnutls_encode_rs_value (&der, &r, &s), ==, 0);
    }
  g_assert_cmpint (gnutls_pubkey_verify_hash2 (pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0,
                                               &hash, &der), >=, 0);
  if (format == LK_TPM_SIGNATURE_RAW)
    gnutls_free (der.data);
  gnutls_pubkey_deinit (pubkey);
}

/* RFC 7515 §2, written apart from the code under test. */
static char *
base64url (const guint8 *data,
           gsize         len)
{
  g_autofree char *b64 = g_base64_encode (data, len);
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = b64; *p != '\0' && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* A JWK coordinate: 32 bytes whatever its value (RFC 7518 §6.2.1.2). */
static char *
coordinate (const gnutls_datum_t *value)
{
  guint8 padded[32] = { 0 };

  g_assert_cmpuint (value->size, <=, sizeof padded);
  memcpy (padded + sizeof padded - value->size, value->data, value->size);
  return base64url (padded, sizeof padded);
}

/**
 * lk_test_assert_jwk_matches:
 *
 * Checks that @jwk is the EC JWK of @spki, with the members RFC 7638 hashes
 * and no others, and that @thumbprint is its RFC 7638 thumbprint.
 */
void
lk_test_assert_jwk_matches (JsonObject *jwk,
                            const char *thumbprint,
                            GBytes     *spki)
{
  gnutls_pubkey_t pubkey = import_spki (spki);
  gnutls_ecc_curve_t curve;
  gnutls_datum_t gx, gy;
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;
  g_autofree char *canonical = NULL;
  g_autofree char *expected = NULL;
  guint8 digest[32];

  g_assert_cmpint (gnutls_pubkey_export_ecc_raw2 (pubkey, &curve, &gx, &gy,
                                                  GNUTLS_EXPORT_FLAG_NO_LZ), ==, 0);
  g_assert_cmpint (curve, ==, GNUTLS_ECC_CURVE_SECP256R1);
  x = coordinate (&gx);
  y = coordinate (&gy);
  gnutls_free (gx.data);
  gnutls_free (gy.data);
  gnutls_pubkey_deinit (pubkey);

  g_assert_cmpuint (json_object_get_size (jwk), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (jwk, "kty"), ==, "EC");
  g_assert_cmpstr (json_object_get_string_member (jwk, "crv"), ==, "P-256");
  g_assert_cmpstr (json_object_get_string_member (jwk, "x"), ==, x);
  g_assert_cmpstr (json_object_get_string_member (jwk, "y"), ==, y);

  /* RFC 7638 §3.1: the thumbprint of this very JWK. */
  canonical = g_strdup_printf ("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                               x, y);
  g_assert_cmpint (gnutls_hash_fast (GNUTLS_DIG_SHA256, canonical, strlen (canonical),
                                     digest), ==, 0);
  expected = base64url (digest, sizeof digest);
  g_assert_cmpstr (thumbprint, ==, expected);
}

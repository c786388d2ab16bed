/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gnutls/x509.h>
#include <string.h>

#include "certificate.h"
#include "error.h"

void
lk_certificate_free (LkCertificate *cert)
{
  if (cert == NULL)
    return;
  g_free (cert->subject);
  g_free (cert->issuer);
  g_free (cert->serial);
  g_clear_pointer (&cert->leaf_der, g_bytes_unref);
  g_clear_pointer (&cert->spki_der, g_bytes_unref);
  g_free (cert->chain_pem);
  g_free (cert);
}

static GBytes *
take_datum (gnutls_datum_t *datum)
{
  GBytes *bytes = g_bytes_new (datum->data, datum->size);

  gnutls_free (datum->data);
  datum->data = NULL;
  return bytes;
}

static char *
take_string (gnutls_datum_t *datum)
{
  char *text = g_strndup ((const char *) datum->data, datum->size);

  gnutls_free (datum->data);
  datum->data = NULL;
  return text;
}

static gnutls_x509_crt_t
crt_from_der (GBytes *der, int *ret_rc)
{
  gnutls_x509_crt_t crt = NULL;
  gsize length;
  gnutls_datum_t datum = { (unsigned char *) g_bytes_get_data (der, &length), 0 };

  datum.size = (unsigned) length;
  *ret_rc = gnutls_x509_crt_init (&crt);
  if (*ret_rc >= 0)
    *ret_rc = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER);
  if (*ret_rc < 0 && crt != NULL)
    g_clear_pointer (&crt, gnutls_x509_crt_deinit);
  return crt;
}

static GBytes *
crt_spki (gnutls_x509_crt_t crt, int *ret_rc)
{
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t spki = { NULL, 0 };
  GBytes *bytes = NULL;

  *ret_rc = gnutls_pubkey_init (&pubkey);
  if (*ret_rc >= 0)
    *ret_rc = gnutls_pubkey_import_x509 (pubkey, crt, 0);
  if (*ret_rc >= 0)
    *ret_rc = gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_DER, &spki);
  if (*ret_rc >= 0)
    bytes = take_datum (&spki);
  if (pubkey != NULL)
    gnutls_pubkey_deinit (pubkey);
  return bytes;
}

/* Fills what the daemon shows of @crt, the leaf of @chain_pem. */
static LkCertificate *
describe (gnutls_x509_crt_t crt, char *chain_pem, int *ret_rc)
{
  g_autoptr (LkCertificate) cert = g_new0 (LkCertificate, 1);
  gnutls_datum_t datum = { NULL, 0 };
  guint8 serial[64];
  size_t serial_size = sizeof serial;
  int rc;

  cert->chain_pem = chain_pem;
  rc = gnutls_x509_crt_get_dn3 (crt, &datum, 0);
  if (rc >= 0)
    cert->subject = take_string (&datum);
  if (rc >= 0)
    rc = gnutls_x509_crt_get_issuer_dn3 (crt, &datum, 0);
  if (rc >= 0)
    cert->issuer = take_string (&datum);
  if (rc >= 0)
    rc = gnutls_x509_crt_get_serial (crt, serial, &serial_size);
  if (rc >= 0)
    {
      GString *hex = g_string_new (NULL);

      for (size_t i = 0; i < serial_size; i++)
        g_string_append_printf (hex, "%02x", serial[i]);
      cert->serial = g_string_free (hex, FALSE);
      rc = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &datum);
    }
  if (rc >= 0)
    {
      cert->leaf_der = take_datum (&datum);
      cert->spki_der = crt_spki (crt, &rc);
    }
  cert->not_before = gnutls_x509_crt_get_activation_time (crt);
  cert->not_after = gnutls_x509_crt_get_expiration_time (crt);
  *ret_rc = rc;
  return rc < 0 ? NULL : g_steal_pointer (&cert);
}

LkCertificate *
lk_certificate_from_pem (const char *pem, gsize length, const char *what, GError **error)
{
  gnutls_x509_crt_t *crts = NULL;
  unsigned n_crts = 0;
  gnutls_datum_t datum = { (unsigned char *) pem, (unsigned) length };
  LkCertificate *cert = NULL;
  int rc;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  rc = gnutls_x509_crt_list_import2 (&crts, &n_crts, &datum, GNUTLS_X509_FMT_PEM, 0);
  if (rc >= 0 && n_crts == 0)
    rc = GNUTLS_E_NO_CERTIFICATE_FOUND;
  if (rc >= 0)
    cert = describe (crts[0], g_strndup (pem, length), &rc);
  for (unsigned i = 0; i < n_crts; i++)
    gnutls_x509_crt_deinit (crts[i]);
  gnutls_free (crts);
  if (cert == NULL)
    g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "%s: not a PEM certificate chain: %s", what,
                 gnutls_strerror (rc));
  return cert;
}

GBytes *
lk_certificate_request_new (gnutls_privkey_t key, GBytes *spki_der, const char *subject, GError **error)
{
  gnutls_x509_crq_t crq = NULL;
  gnutls_pubkey_t pubkey = NULL;
  gnutls_datum_t der = { NULL, 0 };
  const char *where = NULL;
  GBytes *bytes = NULL;
  int rc;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  rc = gnutls_x509_crq_init (&crq);
  if (rc >= 0)
    rc = gnutls_x509_crq_set_version (crq, 1);
  if (rc >= 0)
    {
      rc = gnutls_x509_crq_set_dn (crq, subject, &where);
      if (rc < 0)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_CONFIG, "subject “%s” is not an RFC 4514 name (at “%s”)", subject,
                       where ? where : "");
          gnutls_x509_crq_deinit (crq);
          return NULL;
        }
    }
  if (rc >= 0)
    rc = gnutls_pubkey_init (&pubkey);
  /* A TPM key in GnuTLS signs, but cannot export its public key: it comes from the TPM's public area. */
  if (rc >= 0)
    {
      gsize length;
      gnutls_datum_t spki = { (unsigned char *) g_bytes_get_data (spki_der, &length), 0 };

      spki.size = (unsigned) length;
      rc = gnutls_pubkey_import (pubkey, &spki, GNUTLS_X509_FMT_DER);
    }
  if (rc >= 0)
    rc = gnutls_x509_crq_set_pubkey (crq, pubkey);
  if (rc >= 0)
    rc = gnutls_x509_crq_set_key_usage (crq, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (rc >= 0)
    rc = gnutls_x509_crq_privkey_sign (crq, key, GNUTLS_DIG_SHA256, 0);
  if (rc >= 0)
    rc = gnutls_x509_crq_export2 (crq, GNUTLS_X509_FMT_DER, &der);
  if (rc >= 0)
    bytes = take_datum (&der);
  else
    g_set_error (error, LK_ERROR, LK_ERROR_FAILED, "cannot make the certificate request: %s", gnutls_strerror (rc));
  if (pubkey != NULL)
    gnutls_pubkey_deinit (pubkey);
  if (crq != NULL)
    gnutls_x509_crq_deinit (crq);
  return bytes;
}

static void
append_pem (GString *pem, GBytes *der)
{
  gsize length;
  gnutls_datum_t in = { (unsigned char *) g_bytes_get_data (der, &length), 0 };
  gnutls_datum_t out = { NULL, 0 };

  in.size = (unsigned) length;
  if (gnutls_pem_base64_encode2 ("CERTIFICATE", &in, &out) >= 0)
    g_string_append_len (pem, (const char *) out.data, out.size);
  gnutls_free (out.data);
}

static void
crt_list_free (GPtrArray *crts)
{
  for (guint i = 0; i < crts->len; i++)
    gnutls_x509_crt_deinit (crts->pdata[i]);
  g_ptr_array_free (crts, TRUE);
}

/* RFC 3339 UTC, for errors about a certificate's validity. */
static char *
format_time (gint64 seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_utc (seconds);

  return time ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ") : g_strdup_printf ("%" G_GINT64_FORMAT, seconds);
}

/*
 * A fresh certificate starts at the CA's "now", which a device's clock
 * may not have reached: one set from a battery-less RTC, or one that
 * keeps whole seconds only, is often a little behind. Refusing such a
 * certificate would only have the CA issue another one just as new.
 */
static gboolean
check_validity (gnutls_x509_crt_t leaf, gint64 now, GError **error)
{
  gint64 not_before = gnutls_x509_crt_get_activation_time (leaf);
  gint64 not_after = gnutls_x509_crt_get_expiration_time (leaf);

  if (not_before > now + LK_CERTIFICATE_CLOCK_SLACK)
    {
      g_autofree char *from = format_time (not_before);

      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL,
                   "the issued certificate is valid from %s, %" G_GINT64_FORMAT
                   " s ahead of this device's clock: is the clock right?",
                   from, not_before - now);
      return FALSE;
    }
  if (not_after <= now)
    {
      g_autofree char *until = format_time (not_after);

      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL,
                   "the issued certificate expired at %s by this device's clock: is the clock right?", until);
      return FALSE;
    }
  return TRUE;
}

static gboolean
verify_chain (gnutls_x509_crt_t leaf, GPtrArray *ca_certs, gint64 now, GError **error)
{
  gnutls_x509_trust_list_t trust = NULL;
  GPtrArray *cas = g_ptr_array_new ();
  unsigned status = 0;
  int rc;

  for (guint i = 0; i < ca_certs->len; i++)
    {
      gnutls_x509_crt_t ca = crt_from_der (ca_certs->pdata[i], &rc);

      if (ca == NULL)
        {
          crt_list_free (cas);
          g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "a CA certificate of /cacerts: %s", gnutls_strerror (rc));
          return FALSE;
        }
      g_ptr_array_add (cas, ca);
    }
  rc = gnutls_x509_trust_list_init (&trust, 0);
  if (rc >= 0)
    {
      /* The list owns the CA certificates from here on. */
      rc = gnutls_x509_trust_list_add_cas (trust, (gnutls_x509_crt_t *) cas->pdata, cas->len, 0);
      g_ptr_array_free (cas, TRUE);
    }
  else
    crt_list_free (cas);
  if (rc >= 0)
    /* The validity period is checked below, against @now and with the
       slack a device's clock needs: GnuTLS would read the clock itself. */
    rc = gnutls_x509_trust_list_verify_crt2 (trust, &leaf, 1, NULL, 0,
                                             GNUTLS_VERIFY_DISABLE_TIME_CHECKS
                                                 | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
                                             &status, NULL);
  if (trust != NULL)
    gnutls_x509_trust_list_deinit (trust, 1);
  if (rc < 0 || status != 0)
    {
      gnutls_datum_t why = { NULL, 0 };

      if (rc >= 0)
        gnutls_certificate_verification_status_print (status, GNUTLS_CRT_X509, &why, 0);
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "the issued certificate does not chain to the CA: %s",
                   rc < 0 ? gnutls_strerror (rc) : (const char *) why.data);
      gnutls_free (why.data);
      return FALSE;
    }
  return check_validity (leaf, now, error);
}

LkCertificate *
lk_certificate_check_issued (GPtrArray *issued, GPtrArray *ca_certs, GBytes *spki_der, gint64 now, GError **error)
{
  g_autoptr (GString) pem = g_string_new (NULL);
  gnutls_x509_crt_t leaf = NULL;
  GBytes *leaf_der = NULL;
  LkCertificate *cert;
  int rc;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < issued->len && leaf == NULL; i++)
    {
      gnutls_x509_crt_t crt = crt_from_der (issued->pdata[i], &rc);
      g_autoptr (GBytes) spki = crt ? crt_spki (crt, &rc) : NULL;

      if (spki != NULL && g_bytes_equal (spki, spki_der))
        {
          leaf = crt;
          leaf_der = issued->pdata[i];
        }
      else if (crt != NULL)
        gnutls_x509_crt_deinit (crt);
    }
  if (leaf == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL,
                   "the server issued no certificate for our key (%u certificate%s for other keys)", issued->len,
                   issued->len == 1 ? "" : "s");
      return NULL;
    }
  if (!verify_chain (leaf, ca_certs, now, error))
    {
      gnutls_x509_crt_deinit (leaf);
      return NULL;
    }
  append_pem (pem, leaf_der);
  for (guint i = 0; i < ca_certs->len; i++)
    append_pem (pem, ca_certs->pdata[i]);
  cert = describe (leaf, g_string_free (g_steal_pointer (&pem), FALSE), &rc);
  gnutls_x509_crt_deinit (leaf);
  if (cert == NULL)
    g_set_error (error, LK_ERROR, LK_ERROR_PROTOCOL, "the issued certificate: %s", gnutls_strerror (rc));
  return cert;
}

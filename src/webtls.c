// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "webtls.h"

static gnutls_datum_t datum(const char *pem)
{
	return (gnutls_datum_t){.data = (unsigned char *)pem, .size = (unsigned int)strlen(pem)};
}

/* The number of PEM certificates in pem, or a GnuTLS error. */
static int count_certs(const char *pem)
{
	gnutls_datum_t d = datum(pem);
	gnutls_x509_crt_t *certs = NULL;
	unsigned int i, n = 0;
	int ret;

	ret = gnutls_x509_crt_list_import2(&certs, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	gnutls_free(certs);
	return n ? (int)n : GNUTLS_E_NO_CERTIFICATE_FOUND;
}

static int check_key(const char *pem)
{
	gnutls_datum_t d = datum(pem);
	gnutls_x509_privkey_t key;
	int ret;

	ret = gnutls_x509_privkey_init(&key);
	if (ret < 0)
		return ret;
	ret = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_x509_privkey_deinit(key);
	return ret;
}

/* What libmicrohttpd will do with the pair: load it into credentials, which checks the match. */
static int check_pair(const char *cert_pem, const char *key_pem)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t c = datum(cert_pem), k = datum(key_pem);
	int ret;

	ret = gnutls_certificate_allocate_credentials(&cred);
	if (ret < 0)
		return ret;
	ret = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	return ret;
}

static int fail(char *err, size_t errlen, const char *name, const char *what, const char *path,
		const char *why)
{
	snprintf(err, errlen, "%s: %s \"%s\": %s", name, what, path, why);
	return -EINVAL;
}

/* GnuTLS says what went wrong, not what it was reading. */
static int fail_pem(char *err, size_t errlen, const char *name, const char *what, const char *path,
		    const char *kind, int gnutls_err)
{
	snprintf(err, errlen, "%s: %s \"%s\": not a valid PEM %s (%s)", name, what, path, kind,
		 gnutls_strerror(gnutls_err));
	return -EINVAL;
}

/* A key in PKCS#8 "ENCRYPTED PRIVATE KEY" or legacy "Proc-Type: 4,ENCRYPTED" form. */
static bool is_encrypted(const char *pem)
{
	return strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	       strstr(pem, "Proc-Type: 4,ENCRYPTED");
}

int webtls__check(const struct webconfig *wc, const char *name, char *err, size_t errlen)
{
	int ret;

	if (!wc->tls)
		return 0;
	ret = count_certs(wc->cert_pem);
	if (ret < 0)
		return fail_pem(err, errlen, name, "cert_file", wc->cert_file, "certificate", ret);
	if (is_encrypted(wc->key_pem))
		return fail(err, errlen, name, "key_file", wc->key_file,
			    "encrypted private keys are not supported");
	ret = check_key(wc->key_pem);
	if (ret < 0)
		return fail_pem(err, errlen, name, "key_file", wc->key_file, "private key", ret);
	ret = check_pair(wc->cert_pem, wc->key_pem);
	if (ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		snprintf(err, errlen, "%s: key_file \"%s\" does not match cert_file \"%s\"", name,
			 wc->key_file, wc->cert_file);
		return -EINVAL;
	}
	if (ret < 0)
		return fail(err, errlen, name, "key_file", wc->key_file, gnutls_strerror(ret));
	ret = wc->ca_pem ? count_certs(wc->ca_pem) : 0;
	if (ret < 0)
		return fail_pem(err, errlen, name, "client_ca_file", wc->client_ca_file,
				"certificate", ret);
	return 0;
}

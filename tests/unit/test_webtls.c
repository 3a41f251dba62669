// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <criterion/criterion.h>
#include "pem_fixtures.h"
#include "webtls.h"

static int check(const char *cert, const char *key, const char *ca, char *err, size_t errlen)
{
	const struct webconfig wc = {.tls = true,
				     .cert_file = "/etc/x/server.crt",
				     .key_file = "/etc/x/server.key",
				     .client_ca_file = "/etc/x/ca.crt",
				     .cert_pem = (char *)cert,
				     .key_pem = (char *)key,
				     .ca_pem = (char *)ca};

	err[0] = '\0';
	return webtls__check(&wc, "web.yml", err, errlen);
}

Test(webtls, good_material)
{
	char err[256];

	cr_expect_eq(check(PEM_CERT, PEM_KEY, NULL, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(check(PEM_CERT, PEM_KEY, PEM_CERT, err, sizeof(err)), 0, "%s", err);
}

Test(webtls, no_tls_checks_nothing)
{
	const struct webconfig wc = {0};
	char err[8];

	cr_expect_eq(webtls__check(&wc, "web.yml", err, sizeof(err)), 0);
}

Test(webtls, garbage_certificate_names_cert_file)
{
	char err[256];

	cr_expect_eq(check("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n",
			   PEM_KEY, NULL, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "web.yml: cert_file \"/etc/x/server.crt\": "), "%s", err);
	cr_expect_eq(check("not a certificate\n", PEM_KEY, NULL, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "cert_file \"/etc/x/server.crt\": "), "%s", err);
}

Test(webtls, bad_keys_name_key_file)
{
	char err[256];

	cr_expect_eq(check(PEM_CERT, PEM_KEY_ENCRYPTED, NULL, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "key_file \"/etc/x/server.key\": encrypted private keys are not "
			      "supported"),
		  "%s", err);
	cr_expect_eq(check(PEM_CERT, "-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n",
			   NULL, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "key_file \"/etc/x/server.key\": "), "%s", err);
}

Test(webtls, key_of_another_certificate)
{
	char err[256];

	cr_expect_eq(check(PEM_CERT, PEM_OTHER_KEY, NULL, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "web.yml: key_file \"/etc/x/server.key\" does not match cert_file "
			      "\"/etc/x/server.crt\"");
}

Test(webtls, garbage_ca_names_client_ca_file)
{
	char err[256];

	cr_expect_eq(check(PEM_CERT, PEM_KEY, "junk\n", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "client_ca_file \"/etc/x/ca.crt\": "), "%s", err);
}

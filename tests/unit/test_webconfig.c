// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <sys/stat.h>
#include "pem_fixtures.h"
#include "webconfig.h"

/* Cost 4 keeps the tests fast; made with Python's crypt.mksalt(METHOD_BLOWFISH). */
#define H_SECRET  "$2b$04$DxHYSxqNW3h/jVrDi460J.lXO6GkV3ylT7aG4bHo2LXzgsgwv0zIa"
#define H_HUNTER2 "$2b$04$2O9aOe.bzEG6vuzZioTi5uHVUxuyL8GRis/cOTZd2R3X5B8neE7.u"

static int parse(struct webconfig *wc, const char *text, char *err, size_t errlen)
{
	return webconfig__parse(wc, text, strlen(text), "web.yml", "/etc/x", err, errlen);
}

Test(webconfig, full_document)
{
	const char *doc = "---\n"
			  "# comment\n"
			  "tls_server_config:\n"
			  "  cert_file: server.crt   # relative\n"
			  "  key_file: \"/abs/server.key\"\n"
			  "  client_ca_file: 'ca.crt'\n"
			  "  client_auth_type: RequireAndVerifyClientCert\n"
			  "\n"
			  "basic_auth_users:\n"
			  "    alice: " H_SECRET "\n"
			  "    'bob smith': '" H_HUNTER2 "'\r\n";
	struct webconfig wc;
	char err[256] = "";

	cr_assert_eq(parse(&wc, doc, err, sizeof(err)), 0, "%s", err);
	cr_expect(wc.tls);
	cr_expect_str_eq(wc.cert_file, "/etc/x/server.crt");
	cr_expect_str_eq(wc.key_file, "/abs/server.key");
	cr_expect_str_eq(wc.client_ca_file, "/etc/x/ca.crt");
	cr_expect_eq(wc.client_auth, WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT);
	cr_assert_eq(wc.nusers, 2);
	cr_expect_str_eq(wc.users[0].name, "alice");
	cr_expect_str_eq(wc.users[1].name, "bob smith");
	cr_expect(webconfig__auth_required(&wc));
	cr_expect(webconfig__check_password(&wc, "alice", "secret"));
	cr_expect(webconfig__check_password(&wc, "bob smith", "hunter2"));
	cr_expect_not(webconfig__check_password(&wc, "alice", "hunter2"));
	cr_expect_not(webconfig__check_password(&wc, "alice", "secret "));
	cr_expect_not(webconfig__check_password(&wc, "alice", ""));
	cr_expect_not(webconfig__check_password(&wc, "carol", "secret"));
	cr_expect_not(webconfig__check_password(&wc, "Alice", "secret"));
	cr_expect_not(webconfig__check_password(&wc, NULL, "secret"));
	cr_expect_not(webconfig__check_password(&wc, "alice", NULL));
	webconfig__free(&wc);
	webconfig__free(&wc); /* leaves it zeroed: a second free is harmless */
	webconfig__free(NULL);
}

Test(webconfig, empty_means_plain_http)
{
	const char *docs[] = {"",
			      "\n\n# nothing\n",
			      "tls_server_config:\nbasic_auth_users:\n",
			      "tls_server_config: {}\nbasic_auth_users: null\n",
			      "tls_server_config:\n  cert_file:\n  key_file: ''\n",
			      "---\n...\n",
			      "~\n",
			      "{}\n",
			      "{tls_server_config: ~, basic_auth_users: {}}\n"};
	struct webconfig wc;
	char err[256] = "";
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cr_assert_eq(parse(&wc, docs[i], err, sizeof(err)), 0, "%zu: %s", i, err);
		cr_expect_not(wc.tls, "%zu", i);
		cr_expect_not(webconfig__auth_required(&wc), "%zu", i);
		cr_expect_not(webconfig__check_password(&wc, "a", "b"));
		webconfig__free(&wc);
	}
}

Test(webconfig, two_y_prefix_and_client_auth_names)
{
	char doc[512], err[256] = "", hash[] = H_SECRET;
	struct webconfig wc;
	int a;

	hash[2] = 'y'; /* $2y$ is the same algorithm: htpasswd writes it */
	snprintf(doc, sizeof(doc), "basic_auth_users:\n  u: %s\n", hash);
	cr_assert_eq(parse(&wc, doc, err, sizeof(err)), 0, "%s", err);
	cr_expect(webconfig__check_password(&wc, "u", "secret"));
	webconfig__free(&wc);
	for (a = WEBCONFIG_REQUEST_CLIENT_CERT; a <= WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT;
	     a++) {
		snprintf(doc, sizeof(doc),
			 "tls_server_config:\n cert_file: c\n key_file: k\n client_ca_file: ca\n"
			 " client_auth_type: %s\n",
			 webconfig__client_auth_name(a));
		cr_assert_eq(parse(&wc, doc, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq((int)wc.client_auth, a);
		webconfig__free(&wc);
	}
}

/* The same settings in several YAML spellings: each must give the same webconfig. Arrays, not
 * pointers: Criterion copies parameters into the test's own process. */
struct spelling {
	char doc[512];
};

static struct spelling spellings[] = {
	/* flow style, one line per section */
	{"tls_server_config: {cert_file: c.pem, key_file: k.pem}\n"
	 "basic_auth_users: {alice: '" H_SECRET "', bob: " H_HUNTER2 "}\n"},
	/* the whole document in flow style, over several lines */
	{"{tls_server_config: {cert_file: c.pem,\n  key_file: k.pem},\n"
	 " basic_auth_users: {\"alice\": \"" H_SECRET "\", \"bob\": \"" H_HUNTER2 "\"}}\n"},
	/* quoted keys, both quotes */
	{"\"tls_server_config\":\n  'cert_file': c.pem\n  \"key_file\": 'k.pem'\n"
	 "'basic_auth_users':\n  'alice': " H_SECRET "\n  \"bob\": " H_HUNTER2 "\n"},
	/* comments everywhere, document markers, a trailing empty document end */
	{"%YAML 1.1\n--- # start\n# tls\ntls_server_config: # section\n  # before\n"
	 "  cert_file: c.pem # after\n  key_file: k.pem\n\nbasic_auth_users: {\n"
	 "  alice: " H_SECRET ", # flow comment\n  bob: " H_HUNTER2 "\n}\n...\n"},
	/* an anchor on a section, nothing else reuses it */
	{"basic_auth_users: &users\n  alice: " H_SECRET "\n  bob: " H_HUNTER2 "\n"
	 "tls_server_config: &tls {cert_file: c.pem, key_file: k.pem}\n"},
	/* merge keys: the mapping's own key wins over the merged one */
	{"tls_server_config:\n  <<: [{cert_file: c.pem, key_file: x.pem}, {key_file: y.pem}]\n"
	 "  key_file: k.pem\nbasic_auth_users:\n  <<: {alice: " H_SECRET "}\n  bob: " H_HUNTER2
	 "\n"},
	/* explicit tags of text (Go's yaml reads !!int 8080 as "8080"), block scalars */
	{"tls_server_config:\n  cert_file: !!str c.pem\n  key_file: >-\n    k.pem\n"
	 "basic_auth_users:\n  alice: |-\n    " H_SECRET "\n  bob: " H_HUNTER2 "\n"},
};

ParameterizedTestParameters(webconfig, spellings)
{
	return cr_make_param_array(struct spelling, spellings,
				   sizeof(spellings) / sizeof(spellings[0]));
}

ParameterizedTest(struct spelling *s, webconfig, spellings)
{
	struct webconfig wc;
	char err[256] = "";

	cr_assert_eq(parse(&wc, s->doc, err, sizeof(err)), 0, "%s\n%s", err, s->doc);
	cr_expect(wc.tls);
	cr_expect_str_eq(wc.cert_file, "/etc/x/c.pem");
	cr_expect_str_eq(wc.key_file, "/etc/x/k.pem");
	cr_assert_eq(wc.nusers, 2);
	cr_expect(webconfig__check_password(&wc, "alice", "secret"));
	cr_expect(webconfig__check_password(&wc, "bob", "hunter2"));
	webconfig__free(&wc);
}

/* An alias shares a hash between users, and a value between sections. */
Test(webconfig, aliases)
{
	const char *doc = "tls_server_config:\n  cert_file: &pem both.pem\n  key_file: *pem\n"
			  "basic_auth_users:\n  alice: &h " H_SECRET "\n  bob: *h\n";
	struct webconfig wc;
	char err[256] = "";

	cr_assert_eq(parse(&wc, doc, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(wc.cert_file, "/etc/x/both.pem");
	cr_expect_str_eq(wc.key_file, "/etc/x/both.pem");
	cr_assert_eq(wc.nusers, 2);
	cr_expect(webconfig__check_password(&wc, "bob", "secret"));
	webconfig__free(&wc);
}

/* Tags of text keep the text as written, as Go's yaml does for a string field. */
Test(webconfig, text_tags)
{
	const char *doc = "tls_server_config: {cert_file: !!int 0123, key_file: !!bool yes}\n";
	struct webconfig wc;
	char err[256] = "";

	cr_assert_eq(parse(&wc, doc, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(wc.cert_file, "/etc/x/0123");
	cr_expect_str_eq(wc.key_file, "/etc/x/yes");
	webconfig__free(&wc);
}

struct bad_case {
	char doc[256];
	char want[96]; /* a substring of the message */
};

/* clang-format off */
static struct bad_case bad_cases[] = {
	{"tls_server_config:\n  min_version: TLS13\n", "web.yml:2: unknown or unsupported key \"min_version\" in tls_server_config"},
	{"http_server_config:\n  http2: false\n", "web.yml:1: unknown or unsupported key \"http_server_config\""},
	{"tls_server_config: {cert_file: a, key_file: b,\n  cipher_suites: [x]}\n", "web.yml:2: unknown or unsupported key \"cipher_suites\""},
	{"tls_server_config:\n  cert_file: a\n", "web.yml: tls_server_config: missing key_file"},
	{"tls_server_config:\n  key_file: a\n", "missing cert_file"},
	{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n", "client_ca_file needs a client_auth_type"},
	{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n", "RequireAndVerifyClientCert needs client_ca_file"},
	{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: requireandverifyclientcert\n", "web.yml:4: client_auth_type \"requireandverifyclientcert\" is not one of"},
	{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequestClientCert\n", "RequestClientCert needs client_ca_file"},
	/* duplicate keys, in every spelling */
	{"tls_server_config:\n  cert_file: a\n  cert_file: b\n", "web.yml:3: duplicate key \"cert_file\""},
	{"tls_server_config: {cert_file: a, 'cert_file': b}\n", "web.yml:1: duplicate key \"cert_file\""},
	{"basic_auth_users:\n  a: " H_SECRET "\nbasic_auth_users:\n", "web.yml:3: duplicate key \"basic_auth_users\""},
	{"basic_auth_users:\n  a: " H_SECRET "\n  \"a\": " H_HUNTER2 "\n", "web.yml:3: duplicate user \"a\""},
	/* passwords */
	{"basic_auth_users:\n  a: secret\n", "web.yml:2: user \"a\": the password must be a bcrypt hash"},
	{"basic_auth_users:\n  a:\n", "must be a bcrypt hash"},
	{"basic_auth_users: {a: b}\n", "user \"a\": the password must be a bcrypt hash"},
	{"basic_auth_users:\n  a: $1$abc$defghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV\n", "bcrypt"},
	{"basic_auth_users:\n  a: $2b$03$DxHYSxqNW3h/jVrDi460J.lXO6GkV3ylT7aG4bHo2LXzgsgwv0zIa\n", "bcrypt"},
	{"basic_auth_users:\n  a: $2b$04$DxHYSxqNW3h/jVrDi460J.lXO6GkV3ylT7aG4bHo2LXzgsgwv0zI\n", "bcrypt"},
	{"basic_auth_users:\n  a: $2b$04$DxHYSxqNW3h/jVrDi460J.lXO6GkV3ylT7aG4bHo2LXzgsgwv0zI!\n", "bcrypt"},
	{"basic_auth_users:\n  a: |\n    " H_SECRET "\n", "bcrypt"},
	{"basic_auth_users:\n  'a:b': " H_SECRET "\n", "contains ':'"},
	{"basic_auth_users:\n  '': " H_SECRET "\n", "is empty"},
	{"basic_auth_users:\n  \"a\\0b\": " H_SECRET "\n", "web.yml:2: a key holds a NUL byte"},
	/* wrong types */
	{"basic_auth_users: x\n", "web.yml:1: \"basic_auth_users\" must be a mapping, not a scalar"},
	{"basic_auth_users:\n  - a\n", "web.yml:2: \"basic_auth_users\" must be a mapping, not a list"},
	{"tls_server_config: [a]\n", "must be a mapping, not a list"},
	{"tls_server_config:\n  cert_file:\n    x: y\n", "web.yml:3: cert_file must be a string, not a mapping"},
	{"tls_server_config:\n  cert_file: [a, b]\n", "web.yml:2: cert_file must be a string, not a list"},
	{"tls_server_config:\n  cert_file: !!binary YQ==\n", "cert_file must be a string, not tag:yaml.org,2002:binary"},
	{"tls_server_config:\n  cert_file: !local a\n", "cert_file must be a string, not !local"},
	/* the message stays one line, whatever a quoted key holds */
	{"tls_server_config:\n  \"min\\nversion\": a\n", "web.yml:2: unknown or unsupported key \"min?version\""},
	{"basic_auth_users:\n  a: {x: y}\n", "web.yml:2: a password must be a string, not a mapping"},
	{"tls_server_config:\n  [a]: b\n", "web.yml:2: a key must be a string, not a list"},
	{"tls_server_config:\n  ~: b\n", "web.yml:2: a key must not be null"},
	{"[a, b]\n", "web.yml:1: the document must be a mapping, not a list"},
	{"tls_server_config\n", "the document must be a mapping, not a scalar"},
	{"tls_server_config:x\n", "the document must be a mapping"},
	{"  cert_file: a\n", "web.yml:1: unknown or unsupported key \"cert_file\""},
	/* merge keys */
	{"tls_server_config:\n  <<: x\n", "web.yml:2: \"<<\" must merge a mapping or a list of them"},
	{"tls_server_config:\n  <<: [x]\n", "\"<<\" must merge a mapping, not a scalar"},
	{"tls_server_config:\n  <<: {min_version: TLS13}\n", "web.yml:2: unknown or unsupported key \"min_version\""},
	{"tls_server_config: &t\n  <<: *t\n", "merge keys nested deeper than"},
	{"tls_server_config:\n  <<: [&a {cert_file: x}, &b {<<: [*a,*a,*a,*a,*a,*a,*a,*a]},\n"
	 "  &c {<<: [*b,*b,*b,*b,*b,*b,*b,*b]}, &d {<<: [*c,*c,*c,*c,*c,*c,*c,*c]},\n"
	 "  *d,*d,*d,*d,*d,*d,*d,*d]\n", "more than 4096 keys, merged ones included"},
	/* not YAML, or more than one document: libyaml's message, at its line */
	{"tls_server_config:\n    cert_file: a\n  key_file: b\n", "web.yml:3: "},
	{"tls_server_config:\n\tcert_file: a\n", "web.yml:2: "},
	{"tls_server_config:\n  cert_file: \"a\n", "web.yml:3: "},
	{"tls_server_config:\n  cert_file: a: b\n", "web.yml:2: "},
	{"tls_server_config:\n  cert_file: \"a\" b\n", "web.yml:2: "},
	{"basic_auth_users:\n  a: *nowhere\n", "web.yml:2: "},
	{"tls_server_config:\n---\nbasic_auth_users:\n", "web.yml:3: only one document is supported"},
};
/* clang-format on */

ParameterizedTestParameters(webconfig, bad)
{
	return cr_make_param_array(struct bad_case, bad_cases,
				   sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *c, webconfig, bad)
{
	struct webconfig wc;
	char err[256] = "";

	cr_assert_eq(parse(&wc, c->doc, err, sizeof(err)), -EINVAL, "accepted: %s", c->doc);
	cr_expect(strstr(err, c->want), "got \"%s\", want \"%s\"", err, c->want);
	/* A failed parse leaves nothing to free. */
	cr_expect_null(wc.users);
	cr_expect_null(wc.cert_file);
	cr_expect_eq(wc.nusers, 0);
}

Test(webconfig, nul_and_size_limits)
{
	static char big[WEBCONFIG_MAX_FILE + 2];
	const char doc[] = "basic_auth_users:\n  a\0b: x\n";
	struct webconfig wc;
	char err[256] = "";

	cr_expect_eq(webconfig__parse(&wc, doc, sizeof(doc) - 1, "w", NULL, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "w:2: NUL byte"), "%s", err);
	memset(big, '#', sizeof(big) - 1);
	cr_expect_eq(webconfig__parse(&wc, big, sizeof(big) - 1, "w", NULL, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "larger than"), "%s", err);
	/* A short message buffer still gets a (cut) message, and no overflow. */
	cr_expect_eq(webconfig__parse(&wc, "x: y\n", 5, "w", NULL, err, 4), -EINVAL);
	cr_expect_eq(strlen(err), 3);
	cr_expect_eq(webconfig__parse(&wc, "x: y\n", 5, "w", NULL, NULL, 0), -EINVAL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(webconfig, load_resolves_and_reads_files)
{
	char dir[] = "/tmp/webconfig-XXXXXX", path[256], err[256] = "";
	struct webconfig wc;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n", f);
	fclose(f);
	/* Missing cert: the message names the key and the resolved path. */
	cr_expect_eq(webconfig__load(&wc, path, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "cert_file \"") && strstr(err, "/c.pem\": No such file"), "%s", err);
	/* Not PEM: checked at load, the message names the file. */
	write_file(dir, "c.pem", "CERT");
	write_file(dir, "k.pem", "KEY");
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	cr_expect_eq(webconfig__load(&wc, path, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "cert_file \"") && strstr(err, "/c.pem\": "), "%s", err);
	write_file(dir, "c.pem", PEM_CERT);
	write_file(dir, "k.pem", PEM_KEY);
	cr_assert_eq(webconfig__load(&wc, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(wc.cert_pem, PEM_CERT);
	cr_expect_str_eq(wc.key_pem, PEM_KEY);
	cr_expect_null(wc.ca_pem);
	webconfig__free(&wc);
	/* A FIFO would block open(2): refused at once, named. */
	snprintf(path, sizeof(path), "%s/k.pem", dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	cr_expect_eq(webconfig__load(&wc, path, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "key_file \"") && strstr(err, "/k.pem\": not a regular file"), "%s",
		  err);
	cr_expect_eq(webconfig__load(&wc, dir, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "not a regular file"), "%s", err);
	cr_expect_eq(webconfig__load(&wc, "/nonexistent/web.yml", err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "/nonexistent/web.yml: No such file"), "%s", err);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_expect_eq(system(path), 0);
}

/* Failures are checked against the costliest hash, wherever its user is listed. */
Test(webconfig, slowest_user_is_the_costliest_hash)
{
	static const char doc[] =
		"basic_auth_users:\n"
		"  a: " H_SECRET "\n"
		"  b: $2b$12$oyWFRbqdH0FmwDtjUOguNeyje9vb1VgwhuaTacci5c/gD4685Yo1q\n"
		"  c: " H_HUNTER2 "\n";
	struct webconfig wc;
	char err[256] = "";

	cr_assert_eq(parse(&wc, doc, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(wc.slowest, 1);
	webconfig__free(&wc);
	cr_assert_eq(parse(&wc, "basic_auth_users:\n  a: " H_SECRET "\n", err, sizeof(err)), 0);
	cr_expect_eq(wc.slowest, 0);
	webconfig__free(&wc);
}

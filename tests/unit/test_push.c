// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "push.h"

/* Cases hold arrays: Criterion copies parameters into each test's process by value. */
struct b64_case {
	char in[16];
	size_t len;
	char want[32];
};

ParameterizedTestParameters(push, base64url)
{
	static struct b64_case cases[] = {
		{"", 0, ""},
		{"f", 1, "Zg=="},
		{"fo", 2, "Zm8="},
		{"foo", 3, "Zm9v"},
		{"foob", 4, "Zm9vYg=="},
		{"/a/b", 4, "L2EvYg=="},
		/* 62 and 63 are '-' and '_' in the URL-safe alphabet, not '+' and '/' */
		{"\xfb\xff", 2, "-_8="},
		{"a\0b", 3, "YQBi"},
	};

	return cr_make_param_array(struct b64_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct b64_case *c, push, base64url)
{
	struct strbuf sb = STRBUF_INIT;

	cr_assert_eq(push__base64url(&sb, c->in, c->len), 0);
	cr_expect_str_eq(sb.buf ? sb.buf : "", c->want);
	strbuf__free(&sb);
}

struct str_case {
	char name[32];
	char value[64];
	char want[128];
};

ParameterizedTestParameters(push, key_segment)
{
	static struct str_case cases[] = {
		{"job", "ccproxy", "/job/ccproxy"},
		{"instance", "node 1", "/instance/node%201"},
		{"instance", "10.0.0.1:9100", "/instance/10.0.0.1%3A9100"},
		{"zone", "a-b_c.d~e", "/zone/a-b_c.d~e"},
		{"path", "/a/b", "/path@base64/L2EvYg=="},
		{"path", "/", "/path@base64/Lw=="},
		{"empty", "", "/empty@base64/="},
		{"pct", "50%", "/pct/50%25"},
		{"utf8", "caf\xc3\xa9", "/utf8/caf%C3%A9"},
		{"q", "a?b#c&d=e+f", "/q/a%3Fb%23c%26d%3De%2Bf"},
	};

	return cr_make_param_array(struct str_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct str_case *c, push, key_segment)
{
	struct strbuf sb = STRBUF_INIT;

	cr_assert_eq(push__key_segment(&sb, c->name, c->value), 0);
	cr_expect_str_eq(sb.buf, c->want);
	strbuf__free(&sb);
}

static void expect_url(const struct push_opts *o, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	cr_assert_eq(push__request_url(&sb, o), 0, "%s", o->url);
	cr_expect_str_eq(sb.buf, want);
	strbuf__free(&sb);
}

Test(push, gateway_url)
{
	struct config_label labels[] = {{"zone", "eu/1"}, {"team", "ml ops"}};
	struct push_opts o = {.url = "http://pg:9091", .job = "ccproxy", .instance = "n1"};

	expect_url(&o, "http://pg:9091/metrics/job/ccproxy/instance/n1");
	o.url = "https://pg.example.com/base/";
	expect_url(&o, "https://pg.example.com/base/metrics/job/ccproxy/instance/n1");
	o.url = "http://pg:9091///";
	o.labels = labels;
	o.nlabels = 2;
	o.instance = "";
	expect_url(&o, "http://pg:9091/metrics/job/ccproxy/instance@base64/="
		       "/zone@base64/ZXUvMQ==/team/ml%20ops");
}

Test(push, victoria_url)
{
	struct config_label labels[] = {{"zone", "eu/1"}};
	struct push_opts o = {.url = "http://vm:8428/api/v1/write",
			      .job = "ccproxy",
			      .instance = "node 1",
			      .labels = labels,
			      .nlabels = 1};

	cr_expect(push__is_victoria(o.url));
	cr_expect(!push__is_victoria("http://pg:9091"));
	cr_expect(!push__is_victoria(NULL));
	expect_url(&o, "http://vm:8428/api/v1/import/prometheus?extra_label=job%3Dccproxy"
		       "&extra_label=instance%3Dnode%201&extra_label=zone%3Deu%2F1");
	/* vminsert in a cluster: the tenant path before it stays */
	o.url = "https://vminsert:8480/insert/0/prometheus/api/v1/write";
	o.nlabels = 0;
	expect_url(&o, "https://vminsert:8480/insert/0/prometheus/api/v1/import/prometheus"
		       "?extra_label=job%3Dccproxy&extra_label=instance%3Dnode%201");
}

Test(push, bad_url)
{
	struct strbuf sb = STRBUF_INIT;
	struct push_opts o = {.url = "ftp://x", .job = "j"};

	cr_expect_eq(push__request_url(&sb, &o), -EINVAL);
	errno = 0;
	cr_expect_null(push__new(&o));
	cr_expect_eq(errno, EINVAL);
	o.url = NULL;
	cr_expect_null(push__new(&o));
	cr_expect_null(push__new(NULL));
	strbuf__free(&sb);
	push__free(NULL);
}

Test(push, client_url_and_mode)
{
	struct push_opts o = {.url = "http://127.0.0.1:1/api/v1/write",
			      .job = "j",
			      .instance = "i",
			      .password = "secret"};
	struct push_client *c = push__new(&o);

	cr_assert_not_null(c);
	cr_expect(push__victoria(c));
	cr_expect_str_eq(push__url(c),
			 "http://127.0.0.1:1/api/v1/import/prometheus?extra_label=job%3Dj"
			 "&extra_label=instance%3Di");
	push__free(c);
}

Test(push, victoria_has_no_delete)
{
	struct push_opts o = {.url = "http://127.0.0.1:1/api/v1/write", .job = "j"};
	struct push_client *c = push__new(&o);
	struct push_result res;

	cr_assert_not_null(c);
	cr_expect_eq(push__send(c, PUSH_DELETE, NULL, 0, NULL, &res), -EOPNOTSUPP);
	cr_expect(strstr(res.error, "VictoriaMetrics"), "%s", res.error);
	push__free(c);
}

/* Port 1 on loopback: nothing listens, the kernel refuses at once. */
Test(push, refused_connection_is_reported, .timeout = 20)
{
	struct push_opts o = {.url = "http://127.0.0.1:1",
			      .job = "j",
			      .instance = "i",
			      .timeout_ms = 5000,
			      .connect_timeout_ms = 2000};
	struct push_client *c = push__new(&o);
	struct push_result res;

	cr_assert_not_null(c);
	cr_expect_eq(push__send(c, PUSH_PUT, "a 1\n", 4, NULL, &res), -ECONNREFUSED);
	cr_expect_eq(res.status, 0);
	cr_expect(res.error[0], "no message");
	/* the handle is reused: a second request behaves the same */
	cr_expect_eq(push__send(c, PUSH_DELETE, NULL, 0, NULL, &res), -ECONNREFUSED);
	push__free(c);
}

Test(push, cancelled_before_start, .timeout = 20)
{
	struct push_opts o = {.url = "http://127.0.0.1:1", .job = "j", .instance = "i"};
	struct push_client *c = push__new(&o);
	struct push_result res;
	atomic_bool cancel = true;
	int err;

	cr_assert_not_null(c);
	err = push__send(c, PUSH_POST, "a 1\n", 4, &cancel, &res);
	/* curl may see the refusal before its first progress call */
	cr_expect(err == -ECANCELED || err == -ECONNREFUSED, "%d", err);
	push__free(c);
}

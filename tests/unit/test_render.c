// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include "format_sink.h"
#include "metrics.pb-c.h"
#include "pb_unpack.h"
#include "render.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The Python plugin's default response-time buckets. */
static const double default_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0};

static struct strbuf sb;
static struct snapshot snap;

static void setup(void)
{
	memset(&sb, 0, sizeof(sb));
	memset(&snap, 0, sizeof(snap));
}

static void teardown(void)
{
	strbuf__free(&sb);
	snapshot__free(&snap);
}

TestSuite(render, .init = setup, .fini = teardown);

/* Copies s into a fixed array, zero-padded; s may fill the array without a NUL. */
static void put(char *dst, size_t size, const char *s)
{
	memset(dst, 0, size);
	memcpy(dst, s, strnlen(s, size));
}

#define PUT(arr, s) put((arr), sizeof(arr), (s))

static void *grow(void *v, size_t n, size_t elem)
{
	void *p = realloc(v, (n + 1) * elem);

	cr_assert_not_null(p);
	memset((char *)p + n * elem, 0, elem);
	return p;
}

static struct snap_request *add_request(unsigned int status, const char *method,
					const char *endpoint, const char *model, const char *st)
{
	struct snap_request *r;

	snap.requests = grow(snap.requests, snap.nrequests, sizeof(*snap.requests));
	r = &snap.requests[snap.nrequests++];
	r->key.status = status;
	PUT(r->key.labels.method, method);
	PUT(r->key.labels.endpoint, endpoint);
	PUT(r->key.labels.model, model);
	PUT(r->key.labels.service_type, st);
	return r;
}

static struct snap_usage *add_usage(const char *model, const char *st)
{
	struct snap_usage *u;

	snap.usage = grow(snap.usage, snap.nusage, sizeof(*snap.usage));
	u = &snap.usage[snap.nusage++];
	PUT(u->key.model, model);
	PUT(u->key.service_type, st);
	return u;
}

static struct snap_error *add_error(const char *endpoint, const char *error_type, const char *model,
				    const char *st, uint64_t count)
{
	struct snap_error *e;

	snap.errors = grow(snap.errors, snap.nerrors, sizeof(*snap.errors));
	e = &snap.errors[snap.nerrors++];
	PUT(e->key.labels.endpoint, endpoint);
	PUT(e->key.error_type, error_type);
	PUT(e->key.labels.model, model);
	PUT(e->key.labels.service_type, st);
	e->count = count;
	return e;
}

/* Whether the bytes are valid UTF-8 (shortest forms, no surrogates, at most U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	unsigned int cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, cp = s[i] & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

#define NAME_RE	 "[a-zA-Z_:][a-zA-Z0-9_:]*"
#define LABEL_RE "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\[\\\\\"n])*\""
#define VALUE_RE "(\\+Inf|-Inf|NaN|-?[0-9]+(\\.[0-9]+)?(e[-+][0-9]+)?)"

static const char sample_re[] = "^(" NAME_RE ")(\\{" LABEL_RE "(," LABEL_RE ")*\\})? " VALUE_RE "$";
static const char help_re[] = "^# HELP (" NAME_RE ") .*$";
static const char type_re[] = "^# TYPE (" NAME_RE ") (counter|gauge|histogram)$";

static bool sample_of_family(const char *name, size_t len, const char *family, const char *type)
{
	static const char *const suffixes[] = {"_bucket", "_count", "_sum"};
	size_t flen = strlen(family), i;

	if (len == flen && !memcmp(name, family, len))
		return true;
	if (strcmp(type, "histogram") || len <= flen || memcmp(name, family, flen))
		return false;
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if (len - flen == strlen(suffixes[i]) &&
		    !memcmp(name + flen, suffixes[i], len - flen))
			return true;
	}
	return false;
}

struct checker {
	regex_t sample, help, type;
	char family[256], ftype[32];
	char seen[8192]; /* " name name ... " */
	char why[512];
};

static bool check_fail(struct checker *c, const char *what, const char *line)
{
	snprintf(c->why, sizeof(c->why), "%s: %s", what, line);
	return false;
}

static bool check_help(struct checker *c, const char *line, const regmatch_t *m)
{
	size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);
	char key[300];

	memcpy(c->family, line + m[1].rm_so, len);
	c->family[len] = '\0';
	c->ftype[0] = '\0';
	snprintf(key, sizeof(key), " %s ", c->family);
	if (strstr(c->seen, key))
		return check_fail(c, "family declared twice", line);
	if (strlen(c->seen) + strlen(key) >= sizeof(c->seen))
		return check_fail(c, "too many families", line);
	strcat(c->seen, key + 1);
	return true;
}

static bool check_type(struct checker *c, const char *line, const regmatch_t *m)
{
	size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);

	if (c->ftype[0] || len != strlen(c->family) || memcmp(line + m[1].rm_so, c->family, len))
		return check_fail(c, "TYPE without its HELP", line);
	len = (size_t)(m[2].rm_eo - m[2].rm_so);
	memcpy(c->ftype, line + m[2].rm_so, len);
	c->ftype[len] = '\0';
	return true;
}

static bool check_line(struct checker *c, const char *line)
{
	regmatch_t m[3];

	if (!regexec(&c->help, line, 2, m, 0))
		return check_help(c, line, m);
	if (!regexec(&c->type, line, 3, m, 0))
		return check_type(c, line, m);
	if (regexec(&c->sample, line, 2, m, 0))
		return check_fail(c, "bad line", line);
	if (!c->ftype[0])
		return check_fail(c, "sample before TYPE", line);
	if (!sample_of_family(line + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so), c->family,
			      c->ftype))
		return check_fail(c, "sample outside its family", line);
	return true;
}

/*
 * A tiny exposition-format check: valid UTF-8, every line `# HELP`, `# TYPE` or
 * `name{labels} value`, each sample belonging to the family of the last HELP/TYPE pair, no
 * family declared twice. The number of samples, or -1 with the reason in c->why.
 */
static long check_exposition(struct checker *c, const char *text)
{
	const char *p = text;
	long samples = 0;

	memset(c, 0, sizeof(*c));
	strcpy(c->seen, " ");
	cr_assert_eq(regcomp(&c->sample, sample_re, REG_EXTENDED), 0);
	cr_assert_eq(regcomp(&c->help, help_re, REG_EXTENDED), 0);
	cr_assert_eq(regcomp(&c->type, type_re, REG_EXTENDED), 0);
	if (!*text)
		samples = -1, check_fail(c, "empty output", "");
	else if (!utf8_valid((const unsigned char *)text, strlen(text)))
		samples = -1, check_fail(c, "not UTF-8", "");
	while (samples >= 0 && *p) {
		const char *nl = strchr(p, '\n');
		char line[4096];
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (!nl || len >= sizeof(line)) {
			samples = -1;
			check_fail(c, nl ? "line too long" : "no final newline", p);
			break;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (!check_line(c, line))
			samples = -1;
		else if (line[0] != '#')
			samples++;
	}
	regfree(&c->sample);
	regfree(&c->help);
	regfree(&c->type);
	return samples;
}

static long validate(const char *text)
{
	struct checker c;
	long n = check_exposition(&c, text);

	cr_assert_geq(n, 0, "invalid exposition: %s", c.why);
	return n;
}

Test(render, validator_rejects_malformed_text)
{
	static const char *const bad[] = {
		"",
		"# HELP a x\n# TYPE a counter\na 1.0",
		"a 1.0\n",
		"# HELP a x\n# TYPE a counter\nb 1.0\n",
		"# HELP a x\n# TYPE a counter\na_sum 1.0\n",
		"# HELP a x\n# TYPE a counter\na{x=\"1\"\"} 1.0\n",
		"# HELP a x\n# TYPE a counter\na{x=\"\\q\"} 1.0\n",
		"# HELP a x\n# TYPE a counter\na{x=1} 1.0\n",
		"# HELP a x\n# TYPE a counter\na{x=\"1\",} 1.0\n",
		"# HELP a x\n# TYPE a counter\na{x=\"\xff\"} 1.0\n",
		"# HELP a x\n# TYPE a counter\na 1.0 \n",
		"# HELP a x\n# TYPE a counter\na one\n",
		"# HELP a x\n# TYPE a summary\na 1.0\n",
		"# HELP a x\n# TYPE b counter\na 1.0\n",
		"# HELP a x\n# TYPE a counter\n# HELP a x\n# TYPE a counter\n",
	};
	struct checker c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		cr_expect_lt(check_exposition(&c, bad[i]), 0, "accepted #%zu: %s", i, bad[i]);
	cr_expect_eq(check_exposition(&c, "# HELP a x\n# TYPE a histogram\na_bucket{le=\"+Inf\"} "
					  "1.0\na_count 1.0\na_sum 1e-05\n"),
		     3, "%s", c.why);
	cr_expect_eq(check_exposition(&c,
				      "# HELP a x\n# TYPE a gauge\na{b=\"\\\"\\\\\\n\xc3\xa9\"} "
				      "-Inf\n"),
		     1, "%s", c.why);
}

static const char *render_with(const char *ns, const double *buckets, size_t nbuckets)
{
	const struct render_opts o = {.namespace_ = ns,
				      .families = {.response = buckets, .nresponse = nbuckets}};

	strbuf__reset(&sb);
	cr_assert_eq(render__families(&snap, &o, &sb), 0);
	cr_assert_not_null(sb.buf);
	validate(sb.buf);
	return sb.buf;
}

static const char *render_default(void)
{
	return render_with("ccproxy", default_buckets, ARRAY_SIZE(default_buckets));
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	}
	return false;
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix), c = 0;
	const char *p = text;

	while (*p) {
		if (!strncmp(p, prefix, n))
			c++;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return c;
}

#define expect_line(text, line) cr_expect(has_line((text), (line)), "missing line: %s", (line))
#define expect_no_line(text, line) \
	cr_expect(!has_line((text), (line)), "unexpected line: %s", (line))

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Golden files live beside this source; tests run from the repository root (make unit). */
static char *read_golden(const char *name)
{
	char path[512], *text, *body;
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;

	snprintf(path, sizeof(path), "%.*s/golden/%s", dirlen, slash ? __FILE__ : ".", name);
	text = read_file(path);
	/* The license line is a valid comment, but not part of the expected output. */
	body = text;
	if (!strncmp(body, "# SPDX-License-Identifier:", 26))
		body = strchr(body, '\n') + 1;
	memmove(text, body, strlen(body) + 1);
	return text;
}

/* One sample per family, as in the Python client's own exposition of the same events. */
static void fill_python_plugin_snapshot(void)
{
	struct snap_request *r;
	struct snap_usage *u;

	r = add_request(200, "POST", "/v1/messages", "claude-x", "claude_api");
	r->val.requests = 1;
	r->val.dur_sum_ns = 300000000;
	r->val.buckets[4] = 1; /* (0.25, 0.5] */
	u = add_usage("claude-x", "claude_api");
	u->val.tokens[CCPROXY_TOKENS_INPUT] = 10;
	u->val.cost_nusd = 250000000;
	add_error("/v1/messages", "Timeout", "claude-x", "claude_api", 1);
	cr_assert_eq(snapshot__add_version(&snap, "0.2.10"), 0);
	snap.attached = 1;
}

Test(render, golden_python_plugin_exposition)
{
	char *golden = read_golden("render_python_plugin.prom");
	const char *out;

	fill_python_plugin_snapshot();
	out = render_default();
	cr_expect_str_eq(out, golden);
	cr_expect_eq(strlen(out), strlen(golden));
	free(golden);
}

Test(render, empty_snapshot_has_every_family_and_unlabelled_zeros)
{
	const char *out = render_default();
	static const char *const families[] = {
		"ccproxy_requests_total",
		"ccproxy_response_duration_seconds",
		"ccproxy_tokens_total",
		"ccproxy_cost_usd_total",
		"ccproxy_errors_total",
		"ccproxy_active_requests",
		"ccproxy_info",
		"up",
		"ccproxy_pool_clients_total",
		"ccproxy_pool_clients_available",
		"ccproxy_pool_clients_active",
		"ccproxy_pool_connections_created_total",
		"ccproxy_pool_connections_closed_total",
		"ccproxy_pool_acquisitions_total",
		"ccproxy_pool_releases_total",
		"ccproxy_pool_health_check_failures_total",
		"ccproxy_pool_acquisition_duration_seconds",
	};
	char prefix[128];
	size_t i;

	cr_expect_eq(count_prefix(out, "# HELP "), ARRAY_SIZE(families));
	for (i = 0; i < ARRAY_SIZE(families); i++) {
		snprintf(prefix, sizeof(prefix), "# HELP %s ", families[i]);
		cr_expect_eq(count_prefix(out, prefix), 1, "%s", families[i]);
	}
	/* Labelled families: HELP/TYPE only. */
	cr_expect_eq(count_prefix(out, "ccproxy_requests_total"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_tokens_total"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_cost_usd_total"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_errors_total"), 0);
	expect_line(out, "ccproxy_active_requests 0.0");
	expect_line(out, "ccproxy_info{metrics_enabled=\"true\",version=\"unknown\"} 1.0");
	expect_line(out, "up{job=\"ccproxy\"} 0.0");
	expect_line(out, "ccproxy_pool_acquisitions_total 0.0");
	expect_line(out, "ccproxy_pool_acquisition_duration_seconds_bucket{le=\"+Inf\"} 0.0");
	expect_line(out, "ccproxy_pool_acquisition_duration_seconds_sum 0.0");
}

Test(render, histogram_folds_method_and_status)
{
	struct snap_request *a, *b, *c;
	const char *out;

	a = add_request(200, "POST", "/v1/messages", "m", "claude_api");
	a->val.requests = 3;
	a->val.buckets[0] = 2; /* <= 0.01 */
	a->val.buckets[3] = 1; /* (0.1, 0.25] */
	a->val.dur_sum_ns = 200000000;
	b = add_request(500, "GET", "/v1/messages", "m", "claude_api");
	b->val.requests = 2;
	b->val.buckets[3] = 1;
	b->val.buckets[10] = 1; /* above 25 s: +Inf only */
	b->val.dur_sum_ns = 30100000000ull;
	/* Same histogram labels, requests but no duration observed: adds nothing. */
	c = add_request(0, "POST", "/v1/messages", "m", "claude_api");
	c->val.requests = 4;
	out = render_default();

	expect_line(out,
		    "ccproxy_requests_total{endpoint=\"/v1/messages\",method=\"POST\",model=\"m\","
		    "service_type=\"claude_api\",status=\"200\"} 3.0");
	expect_line(out,
		    "ccproxy_requests_total{endpoint=\"/v1/messages\",method=\"GET\",model=\"m\","
		    "service_type=\"claude_api\",status=\"500\"} 2.0");
	expect_line(out,
		    "ccproxy_requests_total{endpoint=\"/v1/messages\",method=\"POST\",model=\"m\","
		    "service_type=\"claude_api\",status=\"error\"} 4.0");
	/* One series: 11 buckets, one _count, one _sum. */
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_bucket{"), 11);
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_count{"), 1);
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_sum{"), 1);
#define B(le) "ccproxy_response_duration_seconds_bucket{endpoint=\"/v1/messages\",le=\"" le "\","
#define T     "model=\"m\",service_type=\"claude_api\"} "
	expect_line(out, B("0.01") T "2.0");
	expect_line(out, B("0.05") T "2.0");
	expect_line(out, B("0.1") T "2.0");
	expect_line(out, B("0.25") T "4.0");
	expect_line(out, B("0.5") T "4.0");
	expect_line(out, B("1.0") T "4.0");
	expect_line(out, B("25.0") T "4.0");
	expect_line(out, B("+Inf") T "5.0");
#undef B
	expect_line(out,
		    "ccproxy_response_duration_seconds_count{endpoint=\"/v1/messages\"," T "5.0");
	expect_line(out,
		    "ccproxy_response_duration_seconds_sum{endpoint=\"/v1/messages\"," T "30.3");
#undef T
}

Test(render, histogram_series_per_label_set_and_none_without_durations)
{
	struct snap_request *r;
	const char *out;

	r = add_request(200, "POST", "/a", "m1", "s");
	r->val.requests = 1;
	r->val.buckets[1] = 1;
	r->val.dur_sum_ns = 20000000;
	r = add_request(200, "POST", "/a", "m2", "s");
	r->val.requests = 1;
	r->val.buckets[2] = 1;
	r->val.dur_sum_ns = 70000000;
	/* Counted but never timed: no histogram series for /b. */
	r = add_request(200, "POST", "/b", "m1", "s");
	r->val.requests = 7;
	r->val.dur_sum_ns = 0;
	out = render_default();

	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_count{"), 2);
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=\"/a\",model=\"m1\","
			 "service_type=\"s\"} 1.0");
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=\"/a\",model=\"m2\","
			 "service_type=\"s\"} 1.0");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=\"/a\",model=\"m1\","
			 "service_type=\"s\"} 0.02");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=\"/a\",model=\"m2\","
			 "service_type=\"s\"} 0.07");
	cr_expect_null(strstr(out, "ccproxy_response_duration_seconds_bucket{endpoint=\"/b\""));
	expect_line(out, "ccproxy_requests_total{endpoint=\"/b\",method=\"POST\",model=\"m1\","
			 "service_type=\"s\",status=\"200\"} 7.0");
}

/* For each series: +Inf == _count == the sum of the non-cumulative slots, buckets grow. */
Test(render, histogram_buckets_cumulative_and_consistent)
{
	static const uint64_t slots[11] = {1, 0, 5, 0, 3, 2, 0, 0, 9, 1, 4};
	uint64_t want = 0, prev = 0, total = 0;
	struct snap_request *r;
	const char *out, *p;
	size_t i, n = 0;

	r = add_request(201, "PUT", "/x", "m", "s");
	r->val.requests = 25;
	memcpy(r->val.buckets, slots, sizeof(slots));
	r->val.dur_sum_ns = 123456789012ull;
	out = render_default();

	for (i = 0; i < ARRAY_SIZE(slots); i++)
		total += slots[i];
	for (p = out; (p = strstr(p, "ccproxy_response_duration_seconds_bucket{")); p++) {
		unsigned long long v;
		const char *sp = strchr(p, '}');

		cr_assert_not_null(sp);
		cr_assert_eq(sscanf(sp + 2, "%llu", &v), 1);
		want += slots[n++];
		cr_expect_eq(v, want, "bucket %zu: %llu, want %llu", n, v,
			     (unsigned long long)want);
		cr_expect_geq(v, prev);
		prev = v;
	}
	cr_expect_eq(n, 11);
	cr_expect_eq(prev, total);
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=\"/x\",model=\"m\","
			 "service_type=\"s\"} 25.0");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=\"/x\",model=\"m\","
			 "service_type=\"s\"} 123.456789012");
}

Test(render, overflow_keys_use_overflow_label)
{
	struct snap_request *r;
	struct snap_usage *u;
	struct snap_error *e;
	const char *out;

	/* As the loader pre-creates them: all strings zero, flag set. */
	r = add_request(0, "", "", "", "");
	r->key.flags = CCPROXY_KEY_OVERFLOW;
	r->val.requests = 5;
	r->val.buckets[0] = 2;
	r->val.dur_sum_ns = 10000000;
	u = add_usage("", "");
	u->key.flags = CCPROXY_KEY_OVERFLOW;
	u->val.tokens[CCPROXY_TOKENS_OUTPUT] = 9;
	u->val.cost_nusd = 1000000000;
	e = add_error("", "", "", "", 4);
	e->key.flags = CCPROXY_KEY_OVERFLOW;
	out = render_default();

#define OF "\"__overflow__\""
	expect_line(out, "ccproxy_requests_total{endpoint=" OF ",method=" OF ",model=" OF
			 ",service_type=" OF ",status=" OF "} 5.0");
	expect_line(out, "ccproxy_response_duration_seconds_bucket{endpoint=" OF
			 ",le=\"0.01\",model=" OF ",service_type=" OF "} 2.0");
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=" OF ",model=" OF
			 ",service_type=" OF "} 2.0");
	expect_line(out,
		    "ccproxy_tokens_total{model=" OF ",service_type=" OF ",type=\"output\"} 9.0");
	expect_line(out, "ccproxy_cost_usd_total{cost_type=\"total\",model=" OF ",service_type=" OF
			 "} 1.0");
	expect_line(out, "ccproxy_errors_total{endpoint=" OF ",error_type=" OF ",model=" OF
			 ",service_type=" OF "} 4.0");
	cr_expect_null(strstr(out, "unknown\",service"));
#undef OF
}

/* A proxy's literal "__overflow__" labels print as the overflow series: one histogram. */
Test(render, literal_overflow_labels_join_the_overflow_histogram)
{
	struct snap_request *r;
	const char *out;

	r = add_request(0, "", "", "", "");
	r->key.flags = CCPROXY_KEY_OVERFLOW;
	r->val.requests = 1;
	r->val.buckets[0] = 1;
	r->val.dur_sum_ns = 1000000;
	r = add_request(200, "POST", "/a", "m", "s");
	r->val.requests = 1;
	r->val.buckets[0] = 1;
	r = add_request(200, "POST", "__overflow__", "__overflow__", "__overflow__");
	r->val.requests = 2;
	r->val.buckets[1] = 2;
	r->val.dur_sum_ns = 40000000;
	out = render_default();

#define OF "\"__overflow__\""
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_count{"), 2);
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=" OF ",model=" OF
			 ",service_type=" OF "} 3.0");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=" OF ",model=" OF
			 ",service_type=" OF "} 0.041");
	/* requests_total differs by method and status: two series. */
	cr_expect_eq(count_prefix(out, "ccproxy_requests_total{endpoint=" OF), 2);
#undef OF
}

Test(render, overflow_key_with_strings_still_renders_overflow)
{
	struct snap_request *r = add_request(404, "GET", "/real", "real", "real");
	const char *out;

	r->key.flags = CCPROXY_KEY_OVERFLOW;
	r->val.requests = 1;
	out = render_default();
	cr_expect_null(strstr(out, "real"));
	cr_expect_null(strstr(out, "404"));
}

Test(render, zero_valued_entries_are_skipped)
{
	struct snap_request *r;
	struct snap_usage *u;
	const char *out;

	/* Pre-created overflow entries and zero values: nothing but HELP/TYPE. */
	r = add_request(0, "", "", "", "");
	r->key.flags = CCPROXY_KEY_OVERFLOW;
	u = add_usage("", "");
	u->key.flags = CCPROXY_KEY_OVERFLOW;
	add_error("", "", "", "", 0)->key.flags = CCPROXY_KEY_OVERFLOW;
	add_request(200, "POST", "/z", "m", "s");
	add_error("/z", "E", "m", "s", 0);
	/* Only the non-zero token types and no cost sample. */
	u = add_usage("m", "s");
	u->val.tokens[CCPROXY_TOKENS_CACHE_READ] = 3;
	out = render_default();

	cr_expect_eq(count_prefix(out, "ccproxy_requests_total{"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_errors_total{"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_cost_usd_total{"), 0);
	cr_expect_eq(count_prefix(out, "ccproxy_tokens_total{"), 1);
	expect_line(out,
		    "ccproxy_tokens_total{model=\"m\",service_type=\"s\",type=\"cache_read\"} 3.0");
}

Test(render, token_types_and_cost_spelling)
{
	struct snap_usage *u = add_usage("m", "s");
	const char *out;

	u->val.tokens[CCPROXY_TOKENS_INPUT] = 1;
	u->val.tokens[CCPROXY_TOKENS_OUTPUT] = 2;
	u->val.tokens[CCPROXY_TOKENS_CACHE_READ] = 3;
	u->val.tokens[CCPROXY_TOKENS_CACHE_WRITE] = 4;
	u->val.cost_nusd = 1; /* one nano-USD */
	out = render_default();
	expect_line(out, "ccproxy_tokens_total{model=\"m\",service_type=\"s\",type=\"input\"} 1.0");
	expect_line(out,
		    "ccproxy_tokens_total{model=\"m\",service_type=\"s\",type=\"output\"} 2.0");
	expect_line(out,
		    "ccproxy_tokens_total{model=\"m\",service_type=\"s\",type=\"cache_read\"} 3.0");
	expect_line(
		out,
		"ccproxy_tokens_total{model=\"m\",service_type=\"s\",type=\"cache_write\"} 4.0");
	expect_line(out,
		    "ccproxy_cost_usd_total{cost_type=\"total\",model=\"m\",service_type=\"s\"} "
		    "1e-09");
}

Test(render, large_counters_are_exact)
{
	struct snap_request *r = add_request(200, "POST", "/", "m", "s");
	const char *out;

	r->val.requests = UINT64_MAX;
	snap.pool.counters[CCPROXY_POOL_RELEASES] = (1ull << 53) + 1;
	out = render_default();
	expect_line(out, "ccproxy_requests_total{endpoint=\"/\",method=\"POST\",model=\"m\","
			 "service_type=\"s\",status=\"200\"} 18446744073709551615.0");
	expect_line(out, "ccproxy_pool_releases_total 9007199254740993.0");
}

/* Method and status fold into one histogram: its sums saturate there too, never wrap. */
Test(render, histogram_sums_saturate_when_folded)
{
	struct snap_request *r;
	const char *out;

	r = add_request(200, "POST", "/", "m", "s");
	r->val.requests = 1;
	r->val.buckets[10] = UINT64_MAX;
	r->val.dur_sum_ns = UINT64_MAX;
	r = add_request(500, "POST", "/", "m", "s");
	r->val.requests = 1;
	r->val.buckets[10] = 1;
	r->val.dur_sum_ns = 1ull << 50;
	out = render_default();
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=\"/\",model=\"m\","
			 "service_type=\"s\"} 18446744073709551615.0");
	expect_line(out, "ccproxy_response_duration_seconds_bucket{endpoint=\"/\",le=\"+Inf\","
			 "model=\"m\",service_type=\"s\"} 18446744073709551615.0");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=\"/\",model=\"m\","
			 "service_type=\"s\"} 18446744073.709553");
}

Test(render, label_values_are_escaped)
{
	struct snap_request *r = add_request(200, "POST", "/q\"uote", "a\\b\nc", "bad\xff\xc3");
	const char *out;

	r->val.requests = 1;
	out = render_default();
	expect_line(out, "ccproxy_requests_total{endpoint=\"/q\\\"uote\",method=\"POST\","
			 "model=\"a\\\\b\\nc\",service_type=\"bad\xef\xbf\xbd\xef\xbf\xbd\","
			 "status=\"200\"} 1.0");
}

Test(render, error_type_and_version_are_escaped)
{
	const char *out;

	add_error("/", "E\"\\\n\x80", "m", "s", 1);
	cr_assert_eq(snapshot__add_version(&snap, "1.0\"\xfe"), 0);
	out = render_default();
	expect_line(out,
		    "ccproxy_errors_total{endpoint=\"/\",error_type=\"E\\\"\\\\\\n\xef\xbf\xbd\","
		    "model=\"m\",service_type=\"s\"} 1.0");
	expect_line(out,
		    "ccproxy_info{metrics_enabled=\"true\",version=\"1.0\\\"\xef\xbf\xbd\"} 1.0");
}

/* A value filling its whole array (no NUL) is read to the array's end, never beyond. */
Test(render, full_length_label_value)
{
	char model[CCPROXY_MODEL_MAX + 1];
	struct snap_request *r;
	const char *out;
	char line[512];

	memset(model, 'x', CCPROXY_MODEL_MAX);
	model[CCPROXY_MODEL_MAX] = '\0';
	r = add_request(200, "PATCHXYZ", "/", model, "s");
	r->val.requests = 1;
	out = render_default();
	snprintf(line, sizeof(line),
		 "ccproxy_requests_total{endpoint=\"/\",method=\"PATCHXYZ\",model=\"%s\","
		 "service_type=\"s\",status=\"200\"} 1.0",
		 model);
	expect_line(out, line);
}

Test(render, empty_labels_are_unknown_and_status_zero_is_error)
{
	struct snap_request *r = add_request(0, "", "", "", "");
	struct snap_usage *u = add_usage("", "");
	const char *out;

	r->val.requests = 2;
	r->val.buckets[5] = 2;
	r->val.dur_sum_ns = 1500000000;
	u->val.tokens[CCPROXY_TOKENS_INPUT] = 5;
	add_error("", "", "", "", 3);
	out = render_default();
#define UN "\"unknown\""
	expect_line(out, "ccproxy_requests_total{endpoint=" UN ",method=" UN ",model=" UN
			 ",service_type=" UN ",status=\"error\"} 2.0");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=" UN ",model=" UN
			 ",service_type=" UN "} 1.5");
	expect_line(out,
		    "ccproxy_tokens_total{model=" UN ",service_type=" UN ",type=\"input\"} 5.0");
	expect_line(out, "ccproxy_errors_total{endpoint=" UN ",error_type=" UN ",model=" UN
			 ",service_type=" UN "} 3.0");
#undef UN
}

Test(render, status_codes_spelled_in_decimal)
{
	static const unsigned int codes[] = {100, 204, 429, 599, 4294967295u};
	static const char *const want[] = {"100", "204", "429", "599", "4294967295"};
	char line[256];
	const char *out;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		add_request(codes[i], "GET", "/", "m", "s")->val.requests = 1;
	out = render_default();
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		snprintf(line, sizeof(line),
			 "ccproxy_requests_total{endpoint=\"/\",method=\"GET\",model=\"m\","
			 "service_type=\"s\",status=\"%s\"} 1.0",
			 want[i]);
		expect_line(out, line);
	}
}

Test(render, empty_namespace_has_no_prefix)
{
	const char *out;

	fill_python_plugin_snapshot();
	out = render_with("", default_buckets, ARRAY_SIZE(default_buckets));
	cr_expect_null(strstr(out, "ccproxy_"));
	cr_expect_null(strstr(out, " _"));
	cr_expect_null(strstr(out, "\n_"));
	expect_line(out, "# HELP requests_total Total number of requests processed");
	expect_line(out, "# TYPE response_duration_seconds histogram");
	expect_line(out, "info{metrics_enabled=\"true\",version=\"0.2.10\"} 1.0");
	expect_line(out, "pool_acquisition_duration_seconds_count 0.0");
	expect_line(out, "up{job=\"ccproxy\"} 1.0");
	/* job stays "ccproxy": it names the service, not the namespace. */
}

Test(render, custom_namespace_never_prefixes_up)
{
	const char *out;

	fill_python_plugin_snapshot();
	out = render_with("myproxy", default_buckets, ARRAY_SIZE(default_buckets));
	expect_line(out, "# HELP myproxy_requests_total Total number of requests processed");
	expect_line(out, "myproxy_active_requests 0.0");
	expect_line(out, "# HELP up Service is up and running");
	expect_line(out, "# TYPE up gauge");
	expect_line(out, "up{job=\"ccproxy\"} 1.0");
	cr_expect_null(strstr(out, "myproxy_up"));
	cr_expect_null(strstr(out, "ccproxy_"));
}

Test(render, custom_buckets_spelled_as_python)
{
	static const double b[] = {1, 2.5};
	struct snap_request *r = add_request(200, "POST", "/", "m", "s");
	const char *out;

	r->val.requests = 4;
	r->val.buckets[0] = 1;
	r->val.buckets[1] = 2;
	r->val.buckets[2] = 1;	/* slot nbuckets: +Inf */
	r->val.buckets[3] = 99; /* beyond nbuckets: never read */
	r->val.dur_sum_ns = 7000000000ull;
	out = render_with("ccproxy", b, ARRAY_SIZE(b));
#define T ",model=\"m\",service_type=\"s\"} "
	cr_expect_eq(count_prefix(out, "ccproxy_response_duration_seconds_bucket{"), 3);
	expect_line(out,
		    "ccproxy_response_duration_seconds_bucket{endpoint=\"/\",le=\"1.0\"" T "1.0");
	expect_line(out,
		    "ccproxy_response_duration_seconds_bucket{endpoint=\"/\",le=\"2.5\"" T "3.0");
	expect_line(out,
		    "ccproxy_response_duration_seconds_bucket{endpoint=\"/\",le=\"+Inf\"" T "4.0");
	expect_line(out, "ccproxy_response_duration_seconds_count{endpoint=\"/\"" T "4.0");
	expect_line(out, "ccproxy_response_duration_seconds_sum{endpoint=\"/\"" T "7.0");
#undef T
}

Test(render, bucket_bounds_spellings)
{
	static const double b[] = {0.001, 0.0001, 0.00001, 3, 100, 1e15, 1e16};
	struct snap_request *r = add_request(200, "POST", "/", "m", "s");
	const char *out;

	r->val.requests = 1;
	r->val.buckets[0] = 1;
	r->val.dur_sum_ns = 1000000;
	out = render_with("ccproxy", b, ARRAY_SIZE(b));
#define L(le)                                                                                \
	"ccproxy_response_duration_seconds_bucket{endpoint=\"/\",le=\"" le "\",model=\"m\"," \
	"service_type=\"s\"} 1.0"
	expect_line(out, L("0.001"));
	expect_line(out, L("0.0001"));
	expect_line(out, L("1e-05"));
	expect_line(out, L("3.0"));
	expect_line(out, L("100.0"));
	expect_line(out, L("1000000000000000.0"));
	expect_line(out, L("1e+16"));
#undef L
}

Test(render, info_versions)
{
	const char *out;

	out = render_default();
	expect_line(out, "ccproxy_info{metrics_enabled=\"true\",version=\"unknown\"} 1.0");
	cr_assert_eq(snapshot__add_version(&snap, "0.2.10"), 0);
	cr_assert_eq(snapshot__add_version(&snap, "0.1.7"), 0);
	cr_assert_eq(snapshot__add_version(&snap, "0.2.10"), 0);
	snap.attached = 3;
	out = render_default();
	cr_expect_eq(count_prefix(out, "ccproxy_info{"), 2);
	cr_expect_null(strstr(out, "unknown"));
	cr_expect_not_null(
		strstr(out, "ccproxy_info{metrics_enabled=\"true\",version=\"0.1.7\"} 1.0\n"
			    "ccproxy_info{metrics_enabled=\"true\",version=\"0.2.10\"} 1.0\n"));
	expect_line(out, "up{job=\"ccproxy\"} 1.0");
}

Test(render, up_follows_attached)
{
	const char *out;

	snap.attached = 0;
	out = render_default();
	expect_line(out, "up{job=\"ccproxy\"} 0.0");
	snap.attached = 2;
	out = render_default();
	expect_line(out, "up{job=\"ccproxy\"} 1.0");
}

Test(render, pool_gauges_counters_and_histogram)
{
	static const uint64_t slots[CCPROXY_POOL_BUCKETS + 1] = {1, 2, 0, 0, 0, 0, 0, 3, 0, 0, 1};
	const char *out;

	snap.active_requests = 7;
	snap.clients_total = 10;
	snap.clients_available = 6;
	snap.clients_active = 4;
	snap.pool.counters[CCPROXY_POOL_ACQUISITIONS] = 7;
	snap.pool.counters[CCPROXY_POOL_RELEASES] = 6;
	snap.pool.counters[CCPROXY_POOL_CREATED] = 3;
	snap.pool.counters[CCPROXY_POOL_CLOSED] = 2;
	snap.pool.counters[CCPROXY_POOL_HEALTH_FAILURES] = 1;
	memcpy(snap.pool.buckets, slots, sizeof(slots));
	snap.pool.wait_sum_ns = 9500000000ull;
	out = render_default();
	expect_line(out, "ccproxy_active_requests 7.0");
	expect_line(out, "ccproxy_pool_clients_total 10.0");
	expect_line(out, "ccproxy_pool_clients_available 6.0");
	expect_line(out, "ccproxy_pool_clients_active 4.0");
	expect_line(out, "ccproxy_pool_acquisitions_total 7.0");
	expect_line(out, "ccproxy_pool_releases_total 6.0");
	expect_line(out, "ccproxy_pool_connections_created_total 3.0");
	expect_line(out, "ccproxy_pool_connections_closed_total 2.0");
	expect_line(out, "ccproxy_pool_health_check_failures_total 1.0");
#define P "ccproxy_pool_acquisition_duration_seconds"
	cr_expect_not_null(strstr(out,
				  P "_bucket{le=\"0.001\"} 1.0\n" P "_bucket{le=\"0.005\"} 3.0\n" P
				    "_bucket{le=\"0.01\"} 3.0\n" P "_bucket{le=\"0.05\"} 3.0\n" P
				    "_bucket{le=\"0.1\"} 3.0\n" P "_bucket{le=\"0.25\"} 3.0\n" P
				    "_bucket{le=\"0.5\"} 3.0\n" P "_bucket{le=\"1.0\"} 6.0\n" P
				    "_bucket{le=\"2.5\"} 6.0\n" P "_bucket{le=\"5.0\"} 6.0\n" P
				    "_bucket{le=\"+Inf\"} 7.0\n" P "_count 7.0\n" P "_sum 9.5\n"),
			   "%s", out);
#undef P
}

Test(render, sticky_error_is_returned_and_nothing_written)
{
	const struct render_opts o = {.namespace_ = "ccproxy",
				      .families = {.response = default_buckets,
						   .nresponse = ARRAY_SIZE(default_buckets)}};

	fill_python_plugin_snapshot();
	sb.err = -ENOMEM;
	cr_expect_eq(render__families(&snap, &o, &sb), -ENOMEM);
	cr_expect_eq(sb.len, 0);
	cr_expect_eq(render__self(&snap, 0.5, &sb), -ENOMEM);
	cr_expect_eq(sb.len, 0);
}

static const char *render_self(double seconds)
{
	strbuf__reset(&sb);
	cr_assert_eq(render__self(&snap, seconds, &sb), 0);
	cr_assert_not_null(sb.buf);
	validate(sb.buf);
	return sb.buf;
}

Test(render, self_families_and_labels)
{
	static const char *const reasons[CCPROXY_DROP_COUNT] = {
		"read_fault", "bad_abi",  "invalid_value", "inflight_full",	   "unpaired",
		"folded",     "map_full", "saturated",	   "inflight_per_process", "native_full",
	};
	static const char *const probes[CCPROXY_PROBE_COUNT] = {
		"request_start",
		"request_complete",
		"request_fail",
		"provider_request_sent",
		"provider_response_received",
		"provider_error",
		"provider_stream_start",
		"provider_stream_chunk",
		"provider_stream_end",
		"pool_acquire",
		"pool_release",
		"pool_connection_created",
		"pool_connection_closed",
		"pool_health_check_failed",
		"pool_gauges",
		"info",
	};
	char line[256];
	const char *out;
	size_t i;

	snap.attached = 2;
	for (i = 0; i < CCPROXY_DROP_COUNT; i++)
		snap.stats.drops[i] = 10 + i;
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++)
		snap.stats.hits[i] = 100 + i;
	for (i = 0; i < SNAP_MAP_COUNT; i++) {
		snap.maps[i].entries = (uint32_t)i;
		snap.maps[i].capacity = 1000 + (uint32_t)i;
	}
	out = render_self(0.25);

	expect_line(out, "# TYPE ccproxy_exporter_scrape_duration_seconds gauge");
	expect_line(out, "ccproxy_exporter_scrape_duration_seconds 0.25");
	expect_line(out, "# TYPE ccproxy_exporter_attached_processes gauge");
	expect_line(out, "ccproxy_exporter_attached_processes 2.0");
	expect_line(out, "# TYPE ccproxy_exporter_map_entries gauge");
	expect_line(out, "# TYPE ccproxy_exporter_map_capacity gauge");
	expect_line(out, "# TYPE ccproxy_exporter_events_dropped_total counter");
	expect_line(out, "# TYPE ccproxy_exporter_probe_hits_total counter");
	for (i = 0; i < SNAP_MAP_COUNT; i++) {
		snprintf(line, sizeof(line), "ccproxy_exporter_map_entries{map=\"%s\"} %zu.0",
			 snap_map_names[i], i);
		expect_line(out, line);
		snprintf(line, sizeof(line), "ccproxy_exporter_map_capacity{map=\"%s\"} %zu.0",
			 snap_map_names[i], 1000 + i);
		expect_line(out, line);
	}
	cr_expect_eq(count_prefix(out, "ccproxy_exporter_events_dropped_total{"),
		     CCPROXY_DROP_COUNT);
	for (i = 0; i < CCPROXY_DROP_COUNT; i++) {
		snprintf(line, sizeof(line),
			 "ccproxy_exporter_events_dropped_total{reason=\"%s\"} %zu.0", reasons[i],
			 10 + i);
		expect_line(out, line);
	}
	cr_expect_eq(count_prefix(out, "ccproxy_exporter_probe_hits_total{"), CCPROXY_PROBE_COUNT);
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		snprintf(line, sizeof(line),
			 "ccproxy_exporter_probe_hits_total{probe=\"%s\"} %zu.0", probes[i],
			 100 + i);
		expect_line(out, line);
	}
	/* Program stats only when the kernel collected them. */
	cr_expect_null(strstr(out, "bpf_program"));
}

Test(render, self_program_stats_when_enabled)
{
	char line[256];
	const char *out;
	size_t i;

	snap.prog_stats = true;
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		snap.progs[i].run_cnt = i;
		snap.progs[i].run_time_ns = 500000000ull * i;
	}
	out = render_self(0);
	expect_line(out, "ccproxy_exporter_scrape_duration_seconds 0.0");
	expect_line(out, "# TYPE ccproxy_exporter_bpf_program_runs_total counter");
	expect_line(out, "# TYPE ccproxy_exporter_bpf_program_run_seconds_total counter");
	cr_expect_eq(count_prefix(out, "ccproxy_exporter_bpf_program_runs_total{"),
		     CCPROXY_PROBE_COUNT);
	expect_line(out, "ccproxy_exporter_bpf_program_runs_total{program=\"request_start\"} 0.0");
	expect_line(out, "ccproxy_exporter_bpf_program_runs_total{program=\"info\"} 15.0");
	expect_line(out, "ccproxy_exporter_bpf_program_run_seconds_total{program=\"pool_acquire\"} "
			 "4.5");
	snprintf(line, sizeof(line),
		 "ccproxy_exporter_bpf_program_run_seconds_total{program=\"info\"} 7.5");
	expect_line(out, line);
}

/* A snapshot with every kind of series, for the external checker. */
static void fill_rich_snapshot(void)
{
	struct snap_request *r;
	struct snap_usage *u;

	fill_python_plugin_snapshot();
	r = add_request(0, "GET", "/q\"\\\n\xff", "", "codex");
	r->val.requests = 2;
	r->val.buckets[10] = 2;
	r->val.dur_sum_ns = 60000000000ull;
	r = add_request(0, "", "", "", "");
	r->key.flags = CCPROXY_KEY_OVERFLOW;
	r->val.requests = 1;
	r->val.buckets[0] = 1;
	r->val.dur_sum_ns = 1;
	u = add_usage("", "");
	u->key.flags = CCPROXY_KEY_OVERFLOW;
	u->val.tokens[CCPROXY_TOKENS_CACHE_WRITE] = 1;
	add_error("/", "provider_TimeoutError", "m", "s", 2);
	cr_assert_eq(snapshot__add_version(&snap, "0.1.7"), 0);
	snap.pool.buckets[3] = 1;
	snap.pool.counters[CCPROXY_POOL_ACQUISITIONS] = 1;
	snap.pool.wait_sum_ns = 42000000;
	snap.prog_stats = true;
	snap.stats.hits[0] = 3;
}

Test(render, promtool_check_metrics)
{
	static const char accepted[] =
		"ccproxy_pool_clients_total non-counter metrics should not have \"_total\" suffix";
	const struct render_opts o = {.namespace_ = "ccproxy",
				      .families = {.response = default_buckets,
						   .nresponse = ARRAY_SIZE(default_buckets)}};
	char in[] = "/tmp/test_render_XXXXXX", out[64], cmd[256], *report, *line, *save = NULL;
	int fd, rc;

	if (access("/usr/bin/promtool", X_OK))
		cr_skip_test("/usr/bin/promtool not installed");
	fill_rich_snapshot();
	cr_assert_eq(render__families(&snap, &o, &sb), 0);
	cr_assert_eq(render__self(&snap, 0.001, &sb), 0);
	validate(sb.buf);
	fd = mkstemp(in);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, sb.buf, sb.len), (ssize_t)sb.len);
	close(fd);
	snprintf(out, sizeof(out), "%s.out", in);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s > %s 2>&1", in, out);
	rc = system(cmd);
	report = read_file(out);
	unlink(in);
	unlink(out);
	/* 0: clean; 3: lint findings only (1 would be a parse error). */
	cr_expect(WIFEXITED(rc) && (WEXITSTATUS(rc) == 0 || WEXITSTATUS(rc) == 3),
		  "promtool status %d: %s", rc, report);
	for (line = strtok_r(report, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		cr_expect_str_eq(line, accepted, "promtool: %s", line);
	free(report);
}

/* pid and container_id join the labels in name order, histograms included. */
Test(render, per_process_labels_sorted_in)
{
	const struct render_opts o = {.namespace_ = "ccproxy",
				      .families = {.response = default_buckets, .nresponse = 10},
				      .per_process = true};
	struct snap_request *r = add_request(200, "POST", "/x", "m", "s");

	r->key.tgid = 42;
	r->val.requests = 1;
	r->val.buckets[0] = 1;
	r->val.dur_sum_ns = 5000000;
	cr_assert_eq(snapshot__add_proc(&snap, 42, "c0ffee"), 0);
	cr_assert_eq(render__families(&snap, &o, &sb), 0);
	cr_expect(strstr(sb.buf, "ccproxy_requests_total{container_id=\"c0ffee\",endpoint=\"/x\","
				 "method=\"POST\",model=\"m\",pid=\"42\",service_type=\"s\","
				 "status=\"200\"} 1.0\n") != NULL,
		  "%s", sb.buf);
	cr_expect(strstr(sb.buf, "ccproxy_response_duration_seconds_bucket{container_id=\"c0ffee\","
				 "endpoint=\"/x\",le=\"0.01\",model=\"m\",pid=\"42\","
				 "service_type=\"s\"} 1.0\n") != NULL,
		  "%s", sb.buf);
	cr_expect(strstr(sb.buf,
			 "ccproxy_response_duration_seconds_sum{container_id=\"c0ffee\","
			 "endpoint=\"/x\",model=\"m\",pid=\"42\",service_type=\"s\"} 0.005\n") !=
			  NULL,
		  "%s", sb.buf);
}

/* The latency, stream and provider-status families: after the plugin's, which do not change. */
Test(render, latency_families_follow_the_plugins)
{
	static const double ttft[] = {0.001, 0.5}, other[] = {1.0};
	struct render_opts o = {.namespace_ = "ccproxy",
				.families = {.response = default_buckets,
					     .nresponse = ARRAY_SIZE(default_buckets),
					     .latency = {ttft, other, other, other},
					     .nlatency = {2, 1, 1, 1}}};
	struct snap_latency *l;
	char *plain;
	const char *out;

	fill_python_plugin_snapshot();
	plain = strdup(render_default());
	cr_assert(plain);
	snap.latency = grow(NULL, 0, sizeof(*snap.latency));
	snap.nlatency = 1;
	l = &snap.latency[0];
	PUT(l->key.model, "m");
	PUT(l->key.service_type, "claude_api");
	l->val.stream_chunks = 4;
	l->val.stream_bytes = 4096;
	l->val.lat[CCPROXY_LAT_TTFT].buckets[0] = 1; /* <= 1 ms */
	l->val.lat[CCPROXY_LAT_TTFT].buckets[2] = 1; /* +Inf */
	l->val.lat[CCPROXY_LAT_TTFT].sum_ns = 2500000000ULL;
	snap.provider = grow(NULL, 0, sizeof(*snap.provider));
	snap.nprovider = 2;
	snap.provider = grow(snap.provider, 1, sizeof(*snap.provider));
	PUT(snap.provider[0].key.uk.model, "m");
	snap.provider[0].key.status = 429;
	snap.provider[0].count = 2;
	snap.provider[1].key.uk.flags = CCPROXY_KEY_OVERFLOW;
	snap.provider[1].count = 1;

	strbuf__reset(&sb);
	cr_assert_eq(render__families(&snap, &o, &sb), 0);
	cr_expect_str_eq(sb.buf, plain, "off: nothing of them");
	o.families.serve_latency = true;
	strbuf__reset(&sb);
	cr_assert_eq(render__families(&snap, &o, &sb), 0);
	validate(sb.buf);
	out = sb.buf;
	cr_assert_eq(strncmp(out, plain, strlen(plain)), 0, "the plugin's families come first");
	out += strlen(plain);
#define T "ccproxy_time_to_first_token_seconds"
	cr_expect_str_eq(
		out,
		"# HELP " T " Time from request start to the first streamed chunk\n"
		"# TYPE " T " histogram\n" T
		"_bucket{le=\"0.001\",model=\"m\",service_type=\"claude_api\"} 1.0\n" T
		"_bucket{le=\"0.5\",model=\"m\",service_type=\"claude_api\"} 1.0\n" T
		"_bucket{le=\"+Inf\",model=\"m\",service_type=\"claude_api\"} 2.0\n" T
		"_count{model=\"m\",service_type=\"claude_api\"} 2.0\n" T
		"_sum{model=\"m\",service_type=\"claude_api\"} 2.5\n"
		"# HELP ccproxy_provider_duration_seconds Time from sending to the provider to its "
		"last byte\n"
		"# TYPE ccproxy_provider_duration_seconds histogram\n"
		"# HELP ccproxy_proxy_overhead_seconds Request time not spent waiting for the "
		"provider\n"
		"# TYPE ccproxy_proxy_overhead_seconds histogram\n"
		"# HELP ccproxy_time_per_output_token_seconds Streaming time per output token "
		"after "
		"the first\n"
		"# TYPE ccproxy_time_per_output_token_seconds histogram\n"
		"# HELP ccproxy_stream_chunks_total Streamed chunks received from providers\n"
		"# TYPE ccproxy_stream_chunks_total counter\n"
		"ccproxy_stream_chunks_total{model=\"m\",service_type=\"claude_api\"} 4.0\n"
		"# HELP ccproxy_stream_bytes_total Streamed bytes received from providers\n"
		"# TYPE ccproxy_stream_bytes_total counter\n"
		"ccproxy_stream_bytes_total{model=\"m\",service_type=\"claude_api\"} 4096.0\n"
		"# HELP ccproxy_provider_responses_total Provider responses by HTTP status\n"
		"# TYPE ccproxy_provider_responses_total counter\n"
		"ccproxy_provider_responses_total{model=\"m\",service_type=\"unknown\",status="
		"\"429\"} "
		"2.0\n"
		"ccproxy_provider_responses_total{model=\"__overflow__\",service_type=\"__overflow_"
		"_\","
		"status=\"__overflow__\"} 1.0\n");
#undef T
	free(plain);
}

/* ---- the other formats ------------------------------------------------------------------- */

/* What the maps' CLOCK_MONOTONIC times are offset by in these tests: 1700000000 s. */
#define WALL_MINUS_MONO 1700000000000000000LL

/*
 * Everything through one format sink, self-metrics included, as /metrics sends it: created
 * times converted as a scrape does, OpenMetrics _created samples when om_created.
 */
static void render_format_created(enum negotiate_format fmt, const struct nhist_params *nh,
				  bool native, bool om_created, struct strbuf *out)
{
	const struct render_opts o = {
		.namespace_ = "ccproxy",
		.families = {.response = default_buckets, .nresponse = ARRAY_SIZE(default_buckets)},
		.native = native,
		.created = true,
		.wall_minus_mono_ns = WALL_MINUS_MONO};
	struct format_sink fs;
	int err = format_sink__open(&fs, fmt, out, nh, om_created);

	if (!err)
		err = render__families_to(&snap, &o, &fs.sink);
	if (!err)
		err = render__self_to(&snap, 0.25, &fs.sink);
	cr_assert_eq(format_sink__close(&fs, err), 0);
}

static void render_format(enum negotiate_format fmt, const struct nhist_params *nh, bool native,
			  struct strbuf *out)
{
	render_format_created(fmt, nh, native, false, out);
}

/* Lines not starting with '#', in order. */
static void sample_lines(const char *text, struct strbuf *out)
{
	const char *p = text, *nl;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		if (*p != '#')
			strbuf__append(out, p, (size_t)(nl - p + 1));
	}
}

/* OpenMetrics: the sample lines of text 0.0.4, byte for byte; its own metadata; # EOF. */
Test(render, openmetrics_samples_are_the_text_ones)
{
	struct strbuf text = STRBUF_INIT, om = STRBUF_INIT, a = STRBUF_INIT, b = STRBUF_INIT;

	fill_rich_snapshot();
	render_format(FMT_TEXT_0_0_4, NULL, false, &text);
	render_format(FMT_OPENMETRICS_1_0_0, NULL, false, &om);
	sample_lines(text.buf, &a);
	sample_lines(om.buf, &b);
	cr_assert_gt(a.len, 1000);
	cr_expect_str_eq(a.buf, b.buf);
	cr_expect(om.len > 6 && !strcmp(om.buf + om.len - 6, "# EOF\n"));
	cr_expect(has_line(om.buf, "# TYPE ccproxy_requests counter"));
	cr_expect(has_line(om.buf, "# TYPE ccproxy_pool_clients_total gauge"));
	cr_expect(has_line(om.buf, "# UNIT ccproxy_response_duration_seconds seconds"));
	cr_expect(has_line(om.buf, "# TYPE ccproxy_exporter_bpf_program_run_seconds counter"));
	cr_expect(!strstr(b.buf, "_created ") && !strstr(b.buf, "_created{"));
	strbuf__free(&text);
	strbuf__free(&om);
	strbuf__free(&a);
	strbuf__free(&b);
}

/* No Accept (text 0.0.4 through the format sink) is today's text, byte for byte. */
/* snap through the text format sink is render__families and render__self, byte for byte. */
static void expect_sink_is_the_text(void)
{
	struct strbuf via = STRBUF_INIT;

	render_format(FMT_TEXT_0_0_4, NULL, true, &via);
	strbuf__reset(&sb);
	cr_assert_eq(
		render__families(&snap,
				 &(const struct render_opts){
					 .namespace_ = "ccproxy",
					 .families = {.response = default_buckets,
						      .nresponse = ARRAY_SIZE(default_buckets)}},
				 &sb),
		0);
	cr_assert_eq(render__self(&snap, 0.25, &sb), 0);
	cr_expect_str_eq(via.buf, sb.buf);
	strbuf__free(&via);
}

Test(render, text_format_sink_is_the_text)
{
	fill_rich_snapshot();
	expect_sink_is_the_text();
}

static Io__Prometheus__Client__MetricFamily *find_family(Io__Prometheus__Client__MetricFamily **mf,
							 size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(mf[i]->name, name))
			return mf[i];
	return NULL;
}

/* Sparse native buckets as loader__read leaves them: sorted by series, hist and slot. */
static void set_native(const struct snap_native *v, size_t n)
{
	snap.native = calloc(n + 1, sizeof(*snap.native));
	cr_assert_not_null(snap.native);
	memcpy(snap.native, v, n * sizeof(*v));
	snap.nnative = n;
}

/* Protobuf: every family, histograms with classic and (grouped) native buckets. */
Test(render, protobuf_histograms_carry_native_buckets)
{
	static const struct snap_native native[] = {
		{.series = 0, .hist = CCPROXY_NH_POOL, .slot = CCPROXY_NH_SLOT_ZERO, .count = 1},
		{.series = 7, .hist = CCPROXY_NH_RESPONSE, .slot = 101, .count = 2},
		{.series = 8, .hist = CCPROXY_NH_RESPONSE, .slot = 101, .count = 1},
		/* another histogram of the same series: not the response time's */
		{.series = 8, .hist = CCPROXY_NH_LATENCY, .slot = 3, .count = 5},
	};
	Io__Prometheus__Client__MetricFamily *mf[64], *f;
	Io__Prometheus__Client__Histogram *h;
	struct strbuf out = STRBUF_INIT;
	struct nhist_params p;
	struct snap_request *r;
	size_t n, i;

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	/* two rows that fold into one series (method and status differ) */
	r = add_request(200, "POST", "/v1/messages", "m", "s");
	r->val.requests = 2;
	r->val.buckets[4] = 2;
	r->val.dur_sum_ns = 600000000;
	r->val.series = 7;
	r = add_request(500, "GET", "/v1/messages", "m", "s");
	r->val.requests = 1;
	r->val.buckets[4] = 1;
	r->val.dur_sum_ns = 300000000;
	r->val.series = 8;
	snap.pool.buckets[0] = 1;
	set_native(native, ARRAY_SIZE(native));
	render_format(FMT_PROTOBUF_DELIMITED, &p, true, &out);
	n = unpack_all(&out, mf, 64);
	f = find_family(mf, n, "ccproxy_response_duration_seconds");
	cr_assert_not_null(f);
	cr_assert_eq(f->n_metric, 1);
	h = f->metric[0]->histogram;
	cr_expect_eq(h->sample_count, 3);
	cr_expect_float_eq(h->sample_sum, 0.9, 1e-12);
	cr_expect_eq(h->n_bucket, ARRAY_SIZE(default_buckets));
	cr_expect_eq(h->bucket[4]->cumulative_count, 3);
	cr_expect(h->has_schema && h->schema == 3);
	cr_assert_eq(h->n_positive_span, 1);
	cr_expect_eq(h->positive_span[0]->offset, p.kmin + 1 + 100);
	cr_assert_eq(h->n_positive_delta, 1);
	cr_expect_eq(h->positive_delta[0], 3);
	f = find_family(mf, n, "ccproxy_pool_acquisition_duration_seconds");
	cr_assert_not_null(f);
	h = f->metric[0]->histogram;
	cr_expect_eq(h->zero_count, 1);
	cr_expect_eq(h->sample_count, 1);
	cr_expect(find_family(mf, n, "ccproxy_requests_total") != NULL);
	cr_expect(find_family(mf, n, "up") != NULL);
	cr_expect(find_family(mf, n, "ccproxy_exporter_scrape_duration_seconds") != NULL);
	for (i = 0; i < n; i++)
		io__prometheus__client__metric_family__free_unpacked(mf[i], NULL);
	strbuf__free(&out);
}

/*
 * A series that lost a native bucket to a full map goes with its classic buckets only; so
 * does a group of rows when any of them did. Others keep theirs.
 */
Test(render, protobuf_series_that_lost_native_buckets_go_classic)
{
	static const struct snap_native native[] = {
		{.series = 1, .hist = CCPROXY_NH_RESPONSE, .slot = 50, .count = 1},
		{.series = 2, .hist = CCPROXY_NH_RESPONSE, .slot = 60, .count = 1},
	};
	Io__Prometheus__Client__MetricFamily *mf[64], *f;
	Io__Prometheus__Client__Histogram *h;
	struct strbuf out = STRBUF_INIT;
	struct nhist_params p;
	struct snap_request *r;
	size_t n, i, m;

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	r = add_request(200, "POST", "/v1/messages", "kept", "s");
	r->val.requests = 1;
	r->val.buckets[4] = 1;
	r->val.series = 1;
	r = add_request(200, "POST", "/v1/messages", "lost", "s");
	r->val.requests = 2;
	r->val.buckets[4] = 2;
	r->val.series = 2;
	r->val.nh_lost = 1;
	set_native(native, ARRAY_SIZE(native));
	render_format(FMT_PROTOBUF_DELIMITED, &p, true, &out);
	n = unpack_all(&out, mf, 64);
	f = find_family(mf, n, "ccproxy_response_duration_seconds");
	cr_assert_not_null(f);
	cr_assert_eq(f->n_metric, 2);
	for (m = 0; m < 2; m++) {
		h = f->metric[m]->histogram;
		for (i = 0; i < f->metric[m]->n_label; i++) {
			if (strcmp(f->metric[m]->label[i]->name, "model"))
				continue;
			if (!strcmp(f->metric[m]->label[i]->value, "lost")) {
				cr_expect(!h->has_schema && !h->n_positive_span);
				cr_expect_eq(h->sample_count, 2);
			} else {
				cr_expect(h->has_schema && h->n_positive_span == 1);
				cr_expect_eq(h->positive_span[0]->offset, p.kmin + 50);
			}
		}
	}
	for (i = 0; i < n; i++)
		io__prometheus__client__metric_family__free_unpacked(mf[i], NULL);
	strbuf__free(&out);
}

/* ---- created times -------------------------------------------------------------------------- */

/*
 * The rich snapshot with creation times (CLOCK_MONOTONIC ns) on most rows: requests 5 s, and
 * one more row of the same duration series created at 3.5 s; usage 4 s; the second error
 * 2 s (the first unknown); the pool 1 s.
 */
static void fill_created_snapshot(void)
{
	struct snap_request *r;

	fill_rich_snapshot();
	snap.requests[0].val.created_ns = 5000000000ull;
	snap.requests[1].val.created_ns = 6000000000ull;
	snap.requests[2].val.created_ns = 7000000000ull;
	r = add_request(500, "GET", "/v1/messages", "claude-x", "claude_api");
	r->val.requests = 1;
	r->val.buckets[4] = 1;
	r->val.dur_sum_ns = 100000000;
	r->val.created_ns = 3500000000ull;
	snap.usage[0].created_ns = 4000000000ull;
	snap.usage[1].created_ns = 4000000000ull;
	snap.errors[1].created_ns = 2000000000ull;
	snap.pool.created_ns = 1000000000ull;
	snap.active_requests = 2;
}

/* Where the sample name of line p ends (at '{' or ' '), or NULL for a comment. */
static const char *name_end(const char *p, const char *nl)
{
	const char *e = p;

	if (*p == '#')
		return NULL;
	while (e < nl && *e != '{' && *e != ' ')
		e++;
	return e;
}

/* Whether line p is a _created sample (its name ends in _created). */
static bool is_created_line(const char *p, const char *nl)
{
	const char *e = name_end(p, nl);

	return e && e - p > 8 && !memcmp(e - 8, "_created", 8);
}

/* The text minus its _created lines; returns how many there were. */
static size_t without_created(const char *text, struct strbuf *out)
{
	const char *p = text, *nl;
	size_t n = 0;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		if (is_created_line(p, nl))
			n++;
		else
			strbuf__append(out, p, (size_t)(nl - p + 1));
	}
	return n;
}

/*
 * Every _created line follows its series: a counter's <family>_total with the same labels,
 * or a histogram's _sum. Returns how many there are.
 */
static size_t check_created_lines(const char *text)
{
	const char *p = text, *prev = NULL, *nl;
	size_t n = 0;

	for (; *p; prev = p, p = nl + 1) {
		char want_total[512], want_sum[512];
		const char *e, *end;
		int stem;

		nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		if (!is_created_line(p, nl))
			continue;
		cr_assert_not_null(prev, "a _created line first: %.*s", (int)(nl - p), p);
		e = name_end(p, nl);
		stem = (int)(e - 8 - p);
		end = strchr(e, ' ');
		/* the series' line: same name stem and labels, then its value */
		snprintf(want_total, sizeof(want_total), "%.*s_total%.*s ", stem, p, (int)(end - e),
			 e);
		snprintf(want_sum, sizeof(want_sum), "%.*s_sum%.*s ", stem, p, (int)(end - e), e);
		cr_expect(!strncmp(prev, want_total, strlen(want_total)) ||
				  !strncmp(prev, want_sum, strlen(want_sum)),
			  "%.*s does not follow its series but %.*s", (int)(nl - p), p,
			  (int)(strchr(prev, '\n') - prev), prev);
		n++;
	}
	return n;
}

/* OpenMetrics with --web.openmetrics-created-samples: one _created after each series. */
Test(render, openmetrics_created_samples)
{
	struct strbuf text = STRBUF_INIT, om = STRBUF_INIT, omc = STRBUF_INIT, cut = STRBUF_INIT;

	fill_created_snapshot();
	render_format(FMT_TEXT_0_0_4, NULL, false, &text);
	render_format(FMT_OPENMETRICS_1_0_0, NULL, false, &om);
	render_format_created(FMT_OPENMETRICS_1_0_0, NULL, false, true, &omc);
	cr_expect_eq(without_created(text.buf, &cut), 0, "text 0.0.4 never carries them");
	strbuf__reset(&cut);
	cr_expect_eq(without_created(om.buf, &cut), 0, "off unless asked for");
	strbuf__reset(&cut);
	without_created(omc.buf, &cut);
	cr_expect_str_eq(cut.buf, om.buf, "nothing else changes");

	/* requests 1 + 1 (the overflow row's, and the 0-status row's) + 1 new; tokens 2 (one
	 * type each); cost 1; errors 1 of 2; 5 pool counters; response durations 3 series
	 * (the new row joins the first's); the pool histogram */
	cr_expect_eq(check_created_lines(omc.buf), 4 + 2 + 1 + 1 + 5 + 3 + 1);
	cr_expect(has_line(omc.buf, "ccproxy_requests_created{endpoint=\"/v1/messages\","
				    "method=\"POST\",model=\"claude-x\",service_type="
				    "\"claude_api\",status=\"200\"} 1700000005.0"));
	cr_expect(has_line(omc.buf, "ccproxy_requests_created{endpoint=\"/v1/messages\","
				    "method=\"GET\",model=\"claude-x\",service_type="
				    "\"claude_api\",status=\"500\"} 1700000003.5"));
	cr_expect(has_line(omc.buf, "ccproxy_response_duration_seconds_created{endpoint="
				    "\"/v1/messages\",model=\"claude-x\",service_type="
				    "\"claude_api\"} 1700000003.5"),
		  "a grouped series was created with its earliest row");
	cr_expect(has_line(omc.buf, "ccproxy_tokens_created{model=\"claude-x\",service_type="
				    "\"claude_api\",type=\"input\"} 1700000004.0"));
	cr_expect(has_line(omc.buf, "ccproxy_cost_usd_created{cost_type=\"total\",model="
				    "\"claude-x\",service_type=\"claude_api\"} 1700000004.0"));
	cr_expect(has_line(omc.buf, "ccproxy_errors_created{endpoint=\"/\",error_type="
				    "\"provider_TimeoutError\",model=\"m\",service_type=\"s\"} "
				    "1700000002.0"));
	cr_expect(!strstr(omc.buf, "ccproxy_errors_created{endpoint=\"/v1/messages\""),
		  "unknown: left out");
	cr_expect(has_line(omc.buf, "ccproxy_pool_acquisitions_created 1700000001.0"));
	cr_expect(has_line(omc.buf, "ccproxy_pool_connections_created_created 1700000001.0"),
		  "the family of ccproxy_pool_connections_created_total");
	cr_expect(has_line(omc.buf, "ccproxy_pool_acquisition_duration_seconds_created "
				    "1700000001.0"));
	/* gauges, info, up and the exporter's own families have none */
	cr_expect(!strstr(omc.buf, "ccproxy_active_requests_created"));
	cr_expect(!strstr(omc.buf, "ccproxy_pool_clients_total_created"));
	cr_expect(!strstr(omc.buf, "ccproxy_pool_clients_created"));
	cr_expect(!strstr(omc.buf, "ccproxy_info_created"));
	cr_expect(!strstr(omc.buf, "up_created"));
	cr_expect(!strstr(omc.buf, "ccproxy_exporter_probe_hits_created"));
	cr_expect(omc.len > 6 && !strcmp(omc.buf + omc.len - 6, "# EOF\n"));
	strbuf__free(&text);
	strbuf__free(&om);
	strbuf__free(&omc);
	strbuf__free(&cut);
}

/* Text 0.0.4 with created times known is the text without them, byte for byte. */
Test(render, text_ignores_created_times)
{
	fill_created_snapshot();
	expect_sink_is_the_text();
}

/* A creation time that would be before the epoch (a clock set far back) is left out. */
Test(render, created_before_the_epoch_is_unknown)
{
	struct strbuf om = STRBUF_INIT;
	struct format_sink fs;
	const struct render_opts o = {
		.namespace_ = "ccproxy",
		.families = {.response = default_buckets, .nresponse = ARRAY_SIZE(default_buckets)},
		.created = true,
		.wall_minus_mono_ns = -4000000000LL};

	fill_created_snapshot();
	cr_assert_eq(format_sink__open(&fs, FMT_OPENMETRICS_1_0_0, &om, NULL, true), 0);
	cr_assert_eq(format_sink__close(&fs, render__families_to(&snap, &o, &fs.sink)), 0);
	/* requests at 5 s, 6 s, 7 s and usage at 4 s: after; the rest: before */
	cr_expect(has_line(om.buf, "ccproxy_requests_created{endpoint=\"/v1/messages\","
				   "method=\"POST\",model=\"claude-x\",service_type="
				   "\"claude_api\",status=\"200\"} 1.0"));
	cr_expect(!strstr(om.buf, "ccproxy_tokens_created"), "exactly the epoch: 0, unknown");
	cr_expect(!strstr(om.buf, "ccproxy_errors_created"));
	cr_expect(!strstr(om.buf, "ccproxy_pool_acquisitions_created"));
	strbuf__free(&om);
}

/* Protobuf: created_timestamp on every counter and histogram whose time is known. */
Test(render, protobuf_created_timestamps)
{
	Io__Prometheus__Client__MetricFamily *mf[64], *f;
	Io__Prometheus__Client__Timestamp *t;
	struct strbuf out = STRBUF_INIT;
	size_t n, i, j;

	fill_created_snapshot();
	render_format(FMT_PROTOBUF_DELIMITED, NULL, false, &out);
	n = unpack_all(&out, mf, 64);
	f = find_family(mf, n, "ccproxy_requests_total");
	cr_assert_not_null(f);
	for (i = 0; i < f->n_metric; i++) {
		t = f->metric[i]->counter->created_timestamp;
		cr_assert_not_null(t);
		cr_expect_geq(t->seconds, 1700000003);
		cr_expect_leq(t->seconds, 1700000007);
	}
	f = find_family(mf, n, "ccproxy_response_duration_seconds");
	cr_assert_not_null(f);
	for (i = 0; i < f->n_metric; i++) {
		for (j = 0; j < f->metric[i]->n_label; j++) {
			if (strcmp(f->metric[i]->label[j]->value, "claude-x"))
				continue;
			t = f->metric[i]->histogram->created_timestamp;
			cr_assert_not_null(t);
			cr_expect(t->seconds == 1700000003 && t->nanos == 500000000);
		}
	}
	f = find_family(mf, n, "ccproxy_pool_acquisition_duration_seconds");
	cr_assert_not_null(f);
	t = f->metric[0]->histogram->created_timestamp;
	cr_assert_not_null(t);
	cr_expect(t->seconds == 1700000001 && !t->has_nanos);
	f = find_family(mf, n, "ccproxy_errors_total");
	cr_assert_not_null(f);
	cr_assert_eq(f->n_metric, 2);
	cr_expect((f->metric[0]->counter->created_timestamp == NULL) !=
		  (f->metric[1]->counter->created_timestamp == NULL));
	f = find_family(mf, n, "ccproxy_exporter_probe_hits_total");
	cr_assert_not_null(f);
	cr_expect_null(f->metric[0]->counter->created_timestamp);
	for (i = 0; i < n; i++)
		io__prometheus__client__metric_family__free_unpacked(mf[i], NULL);
	strbuf__free(&out);
}

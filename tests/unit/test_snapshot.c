// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "family.h"
#include "snapshot.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

TestSuite(snapshot);

/* Copies s into a fixed array; the rest of the array keeps what was there (garbage). */
static void put(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size);

	memcpy(dst, s, n < size ? n + 1 : size);
}

#define PUT(arr, s) put((arr), sizeof(arr), (s))

static bool all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

Test(snapshot, normalize_zeroes_garbage_after_nul)
{
	char s[16];

	memset(s, 'G', sizeof(s));
	memcpy(s, "abc", 4);
	snapshot__normalize_str(s, sizeof(s));
	cr_expect_str_eq(s, "abc");
	cr_expect(all_zero(s + 3, sizeof(s) - 3));
}

Test(snapshot, normalize_cuts_at_size_minus_one_without_nul)
{
	char s[8];

	memcpy(s, "abcdefgh", 8);
	snapshot__normalize_str(s, sizeof(s));
	cr_expect_str_eq(s, "abcdefg");
	cr_expect_eq(s[7], '\0');
}

Test(snapshot, normalize_full_string_and_edges)
{
	char s[8], one[1] = {'x'}, empty[4] = {0, 'a', 'b', 'c'};
	char untouched[2] = {'y', 'z'};

	memcpy(s, "abcdefg", 8); /* exactly fits with its NUL */
	snapshot__normalize_str(s, sizeof(s));
	cr_expect_str_eq(s, "abcdefg");
	snapshot__normalize_str(one, sizeof(one));
	cr_expect_eq(one[0], '\0');
	snapshot__normalize_str(empty, sizeof(empty));
	cr_expect(all_zero(empty, sizeof(empty)));
	snapshot__normalize_str(untouched, 0);
	cr_expect_eq(untouched[0], 'y');
	cr_expect_eq(untouched[1], 'z');
}

static void fill_req(struct snap_request *r, unsigned int status, const char *method,
		     const char *endpoint, const char *model, const char *st, char junk)
{
	memset(r, junk, sizeof(r->key));
	memset(&r->val, 0, sizeof(r->val));
	r->key.status = status;
	r->key.tgid = 0;
	r->key.flags = 0;
	PUT(r->key.labels.method, method);
	PUT(r->key.labels.endpoint, endpoint);
	PUT(r->key.labels.model, model);
	PUT(r->key.labels.service_type, st);
}

static void expect_sorted_requests(const struct snap_request *v, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		cr_expect_lt(memcmp(&v[i - 1].key, &v[i].key, sizeof(v->key)), 0,
			     "entries %zu and %zu out of order or equal", i - 1, i);
}

Test(snapshot, merge_requests_normalises_merges_and_sorts)
{
	struct snap_request v[5];
	size_t n = ARRAY_SIZE(v), i;

	/* Same labels, different garbage after the NULs (and in pad): one series. */
	fill_req(&v[0], 200, "POST", "/v1/messages", "m", "claude_api", 'A');
	v[0].val.requests = 1;
	v[0].val.dur_sum_ns = 100;
	v[0].val.buckets[0] = 1;
	fill_req(&v[1], 500, "GET", "/z", "m", "s", 0);
	v[1].val.requests = 7;
	fill_req(&v[2], 200, "POST", "/v1/messages", "m", "claude_api", 'B');
	v[2].val.requests = 2;
	v[2].val.dur_sum_ns = 20;
	v[2].val.buckets[0] = 1;
	v[2].val.buckets[CCPROXY_MAX_BUCKETS] = 1;
	/* A different status is a different series. */
	fill_req(&v[3], 201, "POST", "/v1/messages", "m", "claude_api", 'C');
	v[3].val.requests = 4;
	fill_req(&v[4], 200, "POST", "/v1/messages", "m", "claude_api", 0);
	v[4].val.requests = 3;
	v[4].val.dur_sum_ns = 3;
	v[4].val.buckets[5] = 2;

	snapshot__merge_requests(v, &n);
	cr_assert_eq(n, 3);
	expect_sorted_requests(v, n);
	for (i = 0; i < n; i++) {
		cr_expect_eq(v[i].key.pad, 0);
		cr_expect(all_zero(v[i].key.labels.model + 1, sizeof(v[i].key.labels.model) - 1));
		if (v[i].key.status == 200) {
			cr_expect_str_eq(v[i].key.labels.method, "POST");
			cr_expect_str_eq(v[i].key.labels.endpoint, "/v1/messages");
			cr_expect_eq(v[i].val.requests, 6);
			cr_expect_eq(v[i].val.dur_sum_ns, 123);
			cr_expect_eq(v[i].val.buckets[0], 2);
			cr_expect_eq(v[i].val.buckets[5], 2);
			cr_expect_eq(v[i].val.buckets[CCPROXY_MAX_BUCKETS], 1);
		} else if (v[i].key.status == 201) {
			cr_expect_eq(v[i].val.requests, 4);
		} else {
			cr_expect_eq(v[i].key.status, 500);
			cr_expect_eq(v[i].val.requests, 7);
		}
	}
}

Test(snapshot, merge_requests_keeps_flags_and_tgid_apart)
{
	struct snap_request v[4];
	size_t n = ARRAY_SIZE(v), i;
	int overflow = 0, tgid = 0;

	for (i = 0; i < n; i++) {
		fill_req(&v[i], 0, "", "", "", "", 0);
		v[i].val.requests = 1;
	}
	v[1].key.flags = CCPROXY_KEY_OVERFLOW;
	v[2].key.tgid = 42;
	snapshot__merge_requests(v, &n);
	cr_assert_eq(n, 3);
	expect_sorted_requests(v, n);
	for (i = 0; i < n; i++) {
		overflow += v[i].key.flags == CCPROXY_KEY_OVERFLOW;
		tgid += v[i].key.tgid == 42;
		if (!v[i].key.flags && !v[i].key.tgid)
			cr_expect_eq(v[i].val.requests, 2);
		else
			cr_expect_eq(v[i].val.requests, 1);
	}
	cr_expect_eq(overflow, 1);
	cr_expect_eq(tgid, 1);
}

Test(snapshot, merge_requests_cut_without_nul_merges_with_cut_value)
{
	struct snap_request v[2];
	size_t n = 2;

	/* A method filling its array has no NUL: it reads as its first 7 bytes. */
	fill_req(&v[0], 200, "", "/", "m", "s", 0);
	memcpy(v[0].key.labels.method, "PATCHXYZ", CCPROXY_METHOD_MAX);
	v[0].val.requests = 1;
	fill_req(&v[1], 200, "PATCHXY", "/", "m", "s", 'q');
	v[1].val.requests = 1;
	snapshot__merge_requests(v, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].key.labels.method, "PATCHXY");
	cr_expect_eq(v[0].val.requests, 2);
}

Test(snapshot, merge_empty_and_single)
{
	struct snap_request r;
	struct snap_usage u;
	struct snap_error e;
	size_t n = 0;

	/* Empty arrays (the loader always passes an allocation, never NULL). */
	snapshot__merge_requests(&r, &n);
	snapshot__merge_usage(&u, &n);
	snapshot__merge_errors(&e, &n);
	cr_expect_eq(n, 0);
	fill_req(&r, 200, "GET", "/", "m", "s", 'x');
	r.val.requests = 5;
	n = 1;
	snapshot__merge_requests(&r, &n);
	cr_expect_eq(n, 1);
	cr_expect_eq(r.val.requests, 5);
	cr_expect_eq(r.key.pad, 0);
	memset(&u, 'x', sizeof(u.key));
	u.key.tgid = u.key.flags = 0;
	PUT(u.key.model, "m");
	memset(&u.val, 0, sizeof(u.val));
	snapshot__merge_usage(&u, &n);
	cr_expect_eq(n, 1);
	cr_expect(all_zero(u.key.model + 1, sizeof(u.key.model) - 1));
	memset(&e, 'x', sizeof(e.key));
	e.key.tgid = e.key.flags = 0;
	e.count = 9;
	snapshot__merge_errors(&e, &n);
	cr_expect_eq(n, 1);
	cr_expect_eq(e.count, 9);
	/* No NUL anywhere: every string cut at size - 1. */
	cr_expect_eq(strlen(e.key.error_type), sizeof(e.key.error_type) - 1);
	cr_expect_eq(strlen(e.key.labels.endpoint), sizeof(e.key.labels.endpoint) - 1);
}

static void fill_usage(struct snap_usage *u, const char *model, const char *st, char junk)
{
	memset(u, junk, sizeof(u->key));
	memset(&u->val, 0, sizeof(u->val));
	u->created_ns = 0;
	u->key.tgid = 0;
	u->key.flags = 0;
	PUT(u->key.model, model);
	PUT(u->key.service_type, st);
}

Test(snapshot, merge_usage_adds_tokens_and_cost)
{
	struct snap_usage v[4];
	size_t n = ARRAY_SIZE(v), i, t;

	fill_usage(&v[0], "m2", "s", 'a');
	fill_usage(&v[1], "m1", "s", 'b');
	fill_usage(&v[2], "m2", "s", 'c');
	fill_usage(&v[3], "m1", "t", 0);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		for (t = 0; t < CCPROXY_TOKEN_TYPES; t++)
			v[i].val.tokens[t] = (i + 1) * 10 + t;
		v[i].val.cost_nusd = 1000 * (i + 1);
	}
	snapshot__merge_usage(v, &n);
	cr_assert_eq(n, 3);
	for (i = 1; i < n; i++)
		cr_expect_lt(memcmp(&v[i - 1].key, &v[i].key, sizeof(v->key)), 0);
	cr_expect_str_eq(v[0].key.model, "m1");
	cr_expect_str_eq(v[0].key.service_type, "s");
	cr_expect_eq(v[0].val.cost_nusd, 2000);
	cr_expect_str_eq(v[1].key.model, "m1");
	cr_expect_str_eq(v[1].key.service_type, "t");
	cr_expect_eq(v[1].val.cost_nusd, 4000);
	cr_expect_str_eq(v[2].key.model, "m2");
	cr_expect_eq(v[2].val.cost_nusd, 4000);
	for (t = 0; t < CCPROXY_TOKEN_TYPES; t++)
		cr_expect_eq(v[2].val.tokens[t], 10 + t + 30 + t, "token type %zu", t);
	cr_expect(all_zero(v[2].key.service_type + 1, sizeof(v[2].key.service_type) - 1));
}

static void fill_error(struct snap_error *e, const char *endpoint, const char *error_type,
		       const char *model, char junk, uint64_t count)
{
	memset(&e->key, junk, sizeof(e->key));
	e->key.tgid = 0;
	e->key.flags = 0;
	PUT(e->key.labels.method, "");
	PUT(e->key.labels.endpoint, endpoint);
	PUT(e->key.labels.model, model);
	PUT(e->key.labels.service_type, "s");
	PUT(e->key.error_type, error_type);
	e->count = count;
	e->created_ns = 0;
}

Test(snapshot, merge_errors_adds_counts)
{
	struct snap_error v[5];
	size_t n = ARRAY_SIZE(v), i;

	fill_error(&v[0], "/", "Timeout", "m", 'x', 1);
	fill_error(&v[1], "/", "Refused", "m", 'y', 2);
	fill_error(&v[2], "/", "Timeout", "m", 'z', 4);
	fill_error(&v[3], "/", "Timeout", "m", 0, 8);
	fill_error(&v[4], "/a", "Timeout", "m", 0, 16);
	snapshot__merge_errors(v, &n);
	cr_assert_eq(n, 3);
	for (i = 1; i < n; i++)
		cr_expect_lt(memcmp(&v[i - 1].key, &v[i].key, sizeof(v->key)), 0);
	for (i = 0; i < n; i++) {
		cr_expect(all_zero(v[i].key.labels.method, sizeof(v[i].key.labels.method)));
		if (!strcmp(v[i].key.labels.endpoint, "/a"))
			cr_expect_eq(v[i].count, 16);
		else if (!strcmp(v[i].key.error_type, "Timeout"))
			cr_expect_eq(v[i].count, 13);
		else
			cr_expect_eq(v[i].count, 2);
	}
}

Test(snapshot, add_version_dedupes_and_sorts)
{
	struct snapshot s = {0};
	static const char *const in[] = {"0.2.10", "0.1.7", "0.2.10", "0.2.9", "", "0.1.7"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(in); i++)
		cr_assert_eq(snapshot__add_version(&s, in[i]), 0);
	cr_assert_eq(s.nversions, 4);
	cr_expect_str_eq(s.versions[0], "");
	cr_expect_str_eq(s.versions[1], "0.1.7");
	cr_expect_str_eq(s.versions[2], "0.2.10");
	cr_expect_str_eq(s.versions[3], "0.2.9");
	for (i = 0; i < s.nversions; i++)
		cr_expect(all_zero(s.versions[i] + strlen(s.versions[i]),
				   CCPROXY_VERSION_MAX - strlen(s.versions[i])));
	snapshot__free(&s);
}

Test(snapshot, add_version_cuts_long_strings)
{
	struct snapshot s = {0};
	char longv[CCPROXY_VERSION_MAX * 2];

	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	cr_assert_eq(snapshot__add_version(&s, longv), 0);
	cr_assert_eq(s.nversions, 1);
	cr_expect_eq(strlen(s.versions[0]), CCPROXY_VERSION_MAX - 1);
	cr_expect_eq(strncmp(s.versions[0], longv, CCPROXY_VERSION_MAX - 1), 0);
	/* Differs only after the cut: the same version. */
	longv[CCPROXY_VERSION_MAX + 3] = 'w';
	cr_assert_eq(snapshot__add_version(&s, longv), 0);
	longv[CCPROXY_VERSION_MAX - 1] = '\0';
	cr_assert_eq(snapshot__add_version(&s, longv), 0);
	cr_expect_eq(s.nversions, 1);
	snapshot__free(&s);
}

Test(snapshot, free_is_null_safe_and_zeroes)
{
	struct snapshot s = {0};

	snapshot__free(NULL);
	snapshot__free(&s);
	s.requests = calloc(2, sizeof(*s.requests));
	s.nrequests = 2;
	s.usage = calloc(1, sizeof(*s.usage));
	s.nusage = 1;
	s.errors = calloc(1, sizeof(*s.errors));
	s.nerrors = 1;
	s.attached = 3;
	cr_assert_eq(snapshot__add_version(&s, "1"), 0);
	snapshot__free(&s);
	cr_expect_null(s.requests);
	cr_expect_null(s.usage);
	cr_expect_null(s.errors);
	cr_expect_null(s.versions);
	cr_expect_eq(s.nrequests + s.nusage + s.nerrors + s.nversions + s.attached, 0);
	snapshot__free(&s);
}

Test(snapshot, map_names)
{
	static const char *const want[SNAP_MAP_COUNT] = {
		"requests", "usage",	      "errors",	  "inflight", "pool",
		"procs",    "inflight_procs", "provider", "native",
	};
	size_t i;

	for (i = 0; i < SNAP_MAP_COUNT; i++)
		cr_expect_str_eq(snap_map_names[i], want[i]);
}

/* Completions count usage in the requests map; it joins the usage map's by (model, service). */
Test(snapshot, fold_request_usage)
{
	struct snapshot snap = {0};

	snap.requests = calloc(3, sizeof(*snap.requests));
	snap.usage = calloc(1, sizeof(*snap.usage));
	cr_assert(snap.requests && snap.usage);
	snap.nrequests = 3;
	strcpy(snap.requests[0].key.labels.model, "m");
	strcpy(snap.requests[0].key.labels.method, "POST");
	snap.requests[0].val.usage.tokens[CCPROXY_TOKENS_INPUT] = 10;
	snap.requests[0].val.usage.cost_nusd = 5;
	strcpy(snap.requests[1].key.labels.model, "m");
	strcpy(snap.requests[1].key.labels.method, "GET");
	snap.requests[1].val.usage.tokens[CCPROXY_TOKENS_INPUT] = 1;
	strcpy(snap.requests[2].key.labels.model, "none"); /* no usage: adds no entry */
	strcpy(snap.usage[0].key.model, "m");		   /* from provider_stream_end */
	snap.usage[0].val.tokens[CCPROXY_TOKENS_OUTPUT] = 7;
	snap.nusage = 1;

	cr_assert_eq(snapshot__fold_request_usage(&snap), 0);
	cr_assert_eq(snap.nusage, 1);
	cr_expect_str_eq(snap.usage[0].key.model, "m");
	cr_expect_eq(snap.usage[0].val.tokens[CCPROXY_TOKENS_INPUT], 11);
	cr_expect_eq(snap.usage[0].val.tokens[CCPROXY_TOKENS_OUTPUT], 7);
	cr_expect_eq(snap.usage[0].val.cost_nusd, 5);
	snapshot__free(&snap);
}

Test(snapshot, sums_saturate_instead_of_wrapping)
{
	struct snap_request r[2];
	struct snap_usage u[2];
	size_t nr = ARRAY_SIZE(r), nu = ARRAY_SIZE(u);

	cr_expect_eq(snap_add(1, 2), 3);
	cr_expect_eq(snap_add(UINT64_MAX - 1, 1), UINT64_MAX);
	cr_expect_eq(snap_add(UINT64_MAX, 1), UINT64_MAX);
	cr_expect_eq(snap_add(1ULL << 63, 1ULL << 63), UINT64_MAX);

	/* Two saturated series that merge stay saturated: a counter never goes down. */
	fill_req(&r[0], 200, "POST", "/", "m", "s", 0);
	fill_req(&r[1], 200, "POST", "/", "m", "s", 'X');
	r[0].val.requests = r[1].val.requests = 1;
	r[0].val.dur_sum_ns = UINT64_MAX;
	r[1].val.dur_sum_ns = 1ULL << 50;
	r[0].val.usage.cost_nusd = r[1].val.usage.cost_nusd = 1ULL << 63;
	r[0].val.buckets[CCPROXY_MAX_BUCKETS] = UINT64_MAX;
	r[1].val.buckets[CCPROXY_MAX_BUCKETS] = 1;
	snapshot__merge_requests(r, &nr);
	cr_assert_eq(nr, 1);
	cr_expect_eq(r[0].val.requests, 2);
	cr_expect_eq(r[0].val.dur_sum_ns, UINT64_MAX);
	cr_expect_eq(r[0].val.usage.cost_nusd, UINT64_MAX);
	cr_expect_eq(r[0].val.buckets[CCPROXY_MAX_BUCKETS], UINT64_MAX);

	memset(u, 0, sizeof(u));
	PUT(u[0].key.model, "m");
	PUT(u[1].key.model, "m");
	u[0].val.tokens[CCPROXY_TOKENS_INPUT] = UINT64_MAX - (1ULL << 40) + 1;
	u[1].val.tokens[CCPROXY_TOKENS_INPUT] = 1ULL << 40;
	u[1].val.tokens[CCPROXY_TOKENS_OUTPUT] = 5;
	snapshot__merge_usage(u, &nu);
	cr_assert_eq(nu, 1);
	cr_expect_eq(u[0].val.tokens[CCPROXY_TOKENS_INPUT], UINT64_MAX);
	cr_expect_eq(u[0].val.tokens[CCPROXY_TOKENS_OUTPUT], 5);
}

static uint64_t requests_of(const struct snap_request *v, size_t n, const char *method,
			    const char *endpoint, const char *model)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(v[i].key.labels.method, method) &&
		    !strcmp(v[i].key.labels.endpoint, endpoint) &&
		    !strcmp(v[i].key.labels.model, model))
			return v[i].val.requests;
	}
	return 0;
}

/* "" and "unknown" both print "unknown"; "\xff\xfe" and "\x80\xc0" both print two U+FFFD. */
Test(snapshot, merge_requests_joins_values_that_render_alike)
{
	struct snap_request v[8];
	size_t n = ARRAY_SIZE(v), i;

	fill_req(&v[0], 200, "POST", "/a", "", "s", 'A');
	fill_req(&v[1], 200, "POST", "/a", "unknown", "s", 0);
	fill_req(&v[2], 200, "POST", "/a", "\xff\xfe", "s", 'B');
	fill_req(&v[3], 200, "POST", "/a", "\x80\xc0", "s", 0);
	fill_req(&v[4], 200, "POST", "/a", "\xff", "s", 0); /* one U+FFFD: another series */
	fill_req(&v[5], 200, "POST", "/a", "x", "s", 0);
	fill_req(&v[6], 200, "", "unknown", "m", "s", 'C');
	fill_req(&v[7], 200, "unknown", "", "m", "s", 0);
	for (i = 0; i < n; i++) {
		v[i].val.requests = 1ULL << i;
		v[i].val.buckets[0] = 1;
		v[i].val.dur_sum_ns = 10;
	}
	cr_assert_eq(snapshot__merge_requests(v, &n), 0);
	cr_assert_eq(n, 5);
	expect_sorted_requests(v, n);
	/* Each group keeps its smallest raw value. */
	cr_expect_eq(requests_of(v, n, "POST", "/a", ""), 1 + 2);
	cr_expect_eq(requests_of(v, n, "POST", "/a", "\x80\xc0"), 4 + 8);
	cr_expect_eq(requests_of(v, n, "POST", "/a", "\xff"), 16);
	cr_expect_eq(requests_of(v, n, "POST", "/a", "x"), 32);
	cr_expect_eq(requests_of(v, n, "", "", "m"), 64 + 128);
	for (i = 0; i < n; i++) {
		if (v[i].val.requests == 3 || v[i].val.requests == 12 || v[i].val.requests == 192) {
			cr_expect_eq(v[i].val.buckets[0], 2);
			cr_expect_eq(v[i].val.dur_sum_ns, 20);
		}
	}
}

Test(snapshot, merge_usage_and_errors_join_values_that_render_alike)
{
	struct snap_usage u[3];
	struct snap_error e[3];
	size_t nu = ARRAY_SIZE(u), ne = ARRAY_SIZE(e);

	fill_usage(&u[0], "m", "", 'a');
	fill_usage(&u[1], "m", "unknown", 0);
	fill_usage(&u[2], "m", "s", 0);
	u[0].val.tokens[CCPROXY_TOKENS_INPUT] = 1;
	u[1].val.tokens[CCPROXY_TOKENS_INPUT] = 2;
	u[1].val.cost_nusd = 5;
	u[2].val.tokens[CCPROXY_TOKENS_INPUT] = 4;
	cr_assert_eq(snapshot__merge_usage(u, &nu), 0);
	cr_assert_eq(nu, 2);
	cr_expect_str_eq(u[0].key.service_type, "");
	cr_expect_eq(u[0].val.tokens[CCPROXY_TOKENS_INPUT], 3);
	cr_expect_eq(u[0].val.cost_nusd, 5);
	cr_expect_eq(u[1].val.tokens[CCPROXY_TOKENS_INPUT], 4);

	fill_error(&e[0], "/", "E\xff\xfe", "m", 'x', 1);
	fill_error(&e[1], "/", "E\x80\xc0", "m", 0, 2);
	fill_error(&e[2], "", "E", "unknown", 0, 4);
	cr_assert_eq(snapshot__merge_errors(e, &ne), 0);
	cr_assert_eq(ne, 2);
	cr_expect_str_eq(e[0].key.labels.endpoint, "");
	cr_expect_eq(e[0].count, 4);
	cr_expect_str_eq(e[1].key.error_type, "E\x80\xc0");
	cr_expect_eq(e[1].count, 3);
}

Test(snapshot, add_version_joins_versions_that_render_alike)
{
	struct snapshot s = {0};
	static const char *const in[] = {"unknown", "1.0", "", "\xff", "\xfe", "unknown"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(in); i++)
		cr_assert_eq(snapshot__add_version(&s, in[i]), 0);
	cr_assert_eq(s.nversions, 3);
	cr_expect_str_eq(s.versions[0], "1.0");
	cr_expect_str_eq(s.versions[1], "unknown");
	cr_expect_str_eq(s.versions[2], "\xff");
	snapshot__free(&s);
}

/* Usage and error keys whose every label reads "__overflow__" print as the overflow series. */
Test(snapshot, literal_overflow_labels_join_the_overflow_series)
{
	struct snap_usage u[3];
	struct snap_error e[2];
	size_t nu = ARRAY_SIZE(u), ne = ARRAY_SIZE(e);

	fill_usage(&u[0], "", "", 0);
	u[0].key.flags = CCPROXY_KEY_OVERFLOW;
	u[0].val.tokens[CCPROXY_TOKENS_INPUT] = 1;
	fill_usage(&u[1], "__overflow__", "__overflow__", 'j');
	u[1].val.tokens[CCPROXY_TOKENS_INPUT] = 2;
	fill_usage(&u[2], "__overflow__", "s", 0); /* only one label: its own series */
	u[2].val.tokens[CCPROXY_TOKENS_INPUT] = 4;
	cr_assert_eq(snapshot__merge_usage(u, &nu), 0);
	cr_assert_eq(nu, 2);
	cr_expect_eq(u[0].key.flags, CCPROXY_KEY_OVERFLOW);
	cr_expect(all_zero(u[0].key.model, sizeof(u[0].key.model)));
	cr_expect_eq(u[0].val.tokens[CCPROXY_TOKENS_INPUT], 3);
	cr_expect_eq(u[1].val.tokens[CCPROXY_TOKENS_INPUT], 4);

	fill_error(&e[0], "", "", "", 0, 1);
	memset(&e[0].key, 0, sizeof(e[0].key)); /* as the loader creates it */
	e[0].key.flags = CCPROXY_KEY_OVERFLOW;
	fill_error(&e[1], "__overflow__", "__overflow__", "__overflow__", 0, 2);
	PUT(e[1].key.labels.service_type, "__overflow__");
	cr_assert_eq(snapshot__merge_errors(e, &ne), 0);
	cr_assert_eq(ne, 1);
	cr_expect_eq(e[0].count, 3);
}

/* Streams and latencies of completions regroup by (model, service): method, status fold. */
Test(snapshot, fold_request_latency)
{
	struct snapshot snap = {0};

	snap.requests = calloc(4, sizeof(*snap.requests));
	cr_assert(snap.requests);
	snap.nrequests = 4;
	strcpy(snap.requests[0].key.labels.model, "m");
	snap.requests[0].key.status = 200;
	snap.requests[0].val.stream_chunks = 3;
	snap.requests[0].val.stream_bytes = 300;
	snap.requests[0].val.lat[CCPROXY_LAT_TTFT].buckets[0] = 1;
	snap.requests[0].val.lat[CCPROXY_LAT_TTFT].sum_ns = 5;
	strcpy(snap.requests[1].key.labels.model, "m");
	snap.requests[1].key.status = 0; /* a failure keeps its chunks and TTFT */
	snap.requests[1].val.stream_chunks = 1;
	snap.requests[1].val.lat[CCPROXY_LAT_TTFT].buckets[2] = 1;
	snap.requests[1].val.lat[CCPROXY_LAT_TTFT].sum_ns = 7;
	strcpy(snap.requests[2].key.labels.model, "quiet"); /* nothing streamed: no entry */
	snap.requests[2].val.requests = 9;
	snap.requests[3].key.flags = CCPROXY_KEY_OVERFLOW;
	snap.requests[3].val.lat[CCPROXY_LAT_TPOT].buckets[1] = 4;

	cr_assert_eq(snapshot__fold_request_latency(&snap), 0);
	cr_assert_eq(snap.nlatency, 2);
	cr_expect_str_eq(snap.latency[0].key.model, "");
	cr_expect_eq(snap.latency[0].key.flags, CCPROXY_KEY_OVERFLOW);
	cr_expect_eq(snap.latency[0].val.lat[CCPROXY_LAT_TPOT].buckets[1], 4);
	cr_expect_str_eq(snap.latency[1].key.model, "m");
	cr_expect_eq(snap.latency[1].val.stream_chunks, 4);
	cr_expect_eq(snap.latency[1].val.stream_bytes, 300);
	cr_expect_eq(snap.latency[1].val.lat[CCPROXY_LAT_TTFT].buckets[0], 1);
	cr_expect_eq(snap.latency[1].val.lat[CCPROXY_LAT_TTFT].buckets[2], 1);
	cr_expect_eq(snap.latency[1].val.lat[CCPROXY_LAT_TTFT].sum_ns, 12);
	snapshot__free(&snap);
}

/* The native buckets of rows that merge, or fold into a latency row, follow them there. */
Test(snapshot, native_buckets_follow_merged_and_folded_rows)
{
	static const struct snap_native native[] = {
		{.series = 1, .hist = CCPROXY_NH_RESPONSE, .slot = 10, .count = 1},
		{.series = 2, .hist = CCPROXY_NH_RESPONSE, .slot = 10, .count = 2},
		{.series = 3, .hist = CCPROXY_NH_RESPONSE, .slot = 11, .count = 1},
		{.series = 1, .hist = CCPROXY_NH_LATENCY + CCPROXY_LAT_TTFT, .slot = 5, .count = 1},
		{.series = 3, .hist = CCPROXY_NH_LATENCY + CCPROXY_LAT_TTFT, .slot = 5, .count = 4},
		{.series = 2, .hist = CCPROXY_NH_LATENCY + CCPROXY_LAT_TTFT, .slot = 6, .count = 1},
		{.series = 0, .hist = CCPROXY_NH_POOL, .slot = 0, .count = 9},
		{.series = 99, .hist = CCPROXY_NH_RESPONSE, .slot = 1, .count = 1}, /* no row */
	};
	struct snapshot snap = {0};
	struct nhist_counts h;
	size_t i;

	snap.requests = calloc(3, sizeof(*snap.requests));
	snap.native = malloc(sizeof(native));
	cr_assert(snap.requests && snap.native);
	memcpy(snap.native, native, sizeof(native));
	snap.nnative = ARRAY_SIZE(native);
	snap.nrequests = 3;
	fill_req(&snap.requests[0], 200, "POST", "/v1/messages", "m", "s", 0);
	fill_req(&snap.requests[1], 200, "POST", "/v1/messages", "m", "s", 'J'); /* merges */
	fill_req(&snap.requests[2], 500, "POST", "/v1/messages", "m", "s", 0);
	for (i = 0; i < 3; i++) {
		snap.requests[i].val.series = i + 1;
		snap.requests[i].val.lat[CCPROXY_LAT_TTFT].buckets[0] = 1;
	}
	cr_assert_eq(snapshot__merge_rows(&snap, &family_sources[FAMILY_SRC_REQUESTS]), 0);
	cr_assert_eq(snap.nrequests, 2);
	cr_assert_eq(snapshot__fold_request_latency(&snap), 0);
	cr_assert_eq(snap.nlatency, 1);
	snapshot__resolve_native(&snap);

	memset(&h, 0, sizeof(h));
	snapshot__add_native(&snap, snap.requests[0].val.series, CCPROXY_NH_RESPONSE, &h);
	cr_expect_eq(snap.requests[0].key.status, 200);
	cr_expect_eq(h.fine[9], 3);
	cr_expect_eq(h.fine[10], 0);
	memset(&h, 0, sizeof(h));
	snapshot__add_native(&snap, snap.requests[1].val.series, CCPROXY_NH_RESPONSE, &h);
	cr_expect_eq(h.fine[9], 0);
	cr_expect_eq(h.fine[10], 1);
	memset(&h, 0, sizeof(h));
	snapshot__add_native(&snap, snap.latency[0].val.series,
			     CCPROXY_NH_LATENCY + CCPROXY_LAT_TTFT, &h);
	cr_expect_eq(h.fine[4], 5);
	cr_expect_eq(h.fine[5], 1);
	memset(&h, 0, sizeof(h));
	snapshot__add_native(&snap, 0, CCPROXY_NH_POOL, &h);
	cr_expect_eq(h.zero, 9);
	h.zero = UINT64_MAX - 1; /* sums saturate */
	snapshot__add_native(&snap, 0, CCPROXY_NH_POOL, &h);
	cr_expect_eq(h.zero, UINT64_MAX);
	snapshot__free(&snap);
}

/* Provider statuses merge by rendered labels; the overflow series has one status. */
Test(snapshot, merge_provider)
{
	struct snap_provider v[4] = {0};
	size_t n = ARRAY_SIZE(v);

	strcpy(v[0].key.uk.model, "m");
	v[0].key.status = 429;
	v[0].count = 1;
	strcpy(v[1].key.uk.model, "m");
	memcpy(v[1].key.uk.model + 2, "junk", 4); /* after the NUL: the same series */
	v[1].key.status = 429;
	v[1].count = 2;
	strcpy(v[2].key.uk.model, "m");
	v[2].key.status = 200;
	v[2].count = 5;
	v[3].key.uk.flags = CCPROXY_KEY_OVERFLOW;
	v[3].key.status = 503;
	v[3].count = 7;
	cr_assert_eq(snapshot__merge_provider(v, &n), 0);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		const struct ccproxy_provider_key *k = &v[i].key;

		if (k->uk.flags & CCPROXY_KEY_OVERFLOW)
			cr_expect(k->status == 0 && v[i].count == 7);
		else if (k->status == 429)
			cr_expect(!strcmp(k->uk.model, "m") && v[i].count == 3);
		else
			cr_expect(k->status == 200 && v[i].count == 5);
	}
}

/* Merged rows were created when the earliest of them was; 0 (unknown) never wins. */
Test(snapshot, created_merges_to_the_earliest_known)
{
	struct snap_request r[4];
	struct snap_error e[3];
	size_t nr = ARRAY_SIZE(r), ne = ARRAY_SIZE(e);

	cr_expect_eq(snap_earliest(0, 0), 0);
	cr_expect_eq(snap_earliest(0, 5), 5);
	cr_expect_eq(snap_earliest(5, 0), 5);
	cr_expect_eq(snap_earliest(7, 5), 5);
	cr_expect_eq(snap_earliest(5, 7), 5);

	fill_req(&r[0], 200, "POST", "/", "m", "s", 'a');
	fill_req(&r[1], 200, "POST", "/", "m", "s", 'b');
	fill_req(&r[2], 200, "POST", "/", "m", "s", 0);
	fill_req(&r[3], 201, "POST", "/", "m", "s", 0); /* another series */
	r[0].val.created_ns = 0;			/* read before its creator wrote the time */
	r[1].val.created_ns = 9000;
	r[2].val.created_ns = 7000;
	r[3].val.created_ns = 0;
	r[0].val.requests = r[1].val.requests = r[2].val.requests = r[3].val.requests = 1;
	cr_assert_eq(snapshot__merge_requests(r, &nr), 0);
	cr_assert_eq(nr, 2);
	cr_expect_eq(r[0].key.status, 200);
	cr_expect_eq(r[0].val.requests, 3, "the time is no counter: never summed");
	cr_expect_eq(r[0].val.created_ns, 7000);
	cr_expect_eq(r[1].val.created_ns, 0, "unknown stays unknown");

	fill_error(&e[0], "/", "T", "m", 'x', 1);
	fill_error(&e[1], "/", "T", "m", 0, 2);
	fill_error(&e[2], "/", "T", "m", 'y', 4);
	e[0].created_ns = 300;
	e[1].created_ns = 100;
	e[2].created_ns = 200;
	cr_assert_eq(snapshot__merge_errors(e, &ne), 0);
	cr_assert_eq(ne, 1);
	cr_expect_eq(e[0].count, 7);
	cr_expect_eq(e[0].created_ns, 100);
}

/* Usage and latency folded from the requests rows take the earliest of every row they join. */
Test(snapshot, folds_take_the_earliest_created)
{
	struct snapshot snap = {0};

	snap.requests = calloc(3, sizeof(*snap.requests));
	snap.usage = calloc(2, sizeof(*snap.usage));
	cr_assert(snap.requests && snap.usage);
	snap.nrequests = 3;
	strcpy(snap.requests[0].key.labels.model, "m");
	strcpy(snap.requests[0].key.labels.method, "POST");
	snap.requests[0].val.usage.tokens[CCPROXY_TOKENS_INPUT] = 10;
	snap.requests[0].val.stream_chunks = 1;
	snap.requests[0].val.created_ns = 5000;
	strcpy(snap.requests[1].key.labels.model, "m");
	strcpy(snap.requests[1].key.labels.method, "GET");
	snap.requests[1].val.usage.tokens[CCPROXY_TOKENS_INPUT] = 1;
	snap.requests[1].val.stream_chunks = 2;
	snap.requests[1].val.created_ns = 3000;
	strcpy(snap.requests[2].key.labels.model, "n");
	snap.requests[2].val.usage.cost_nusd = 1;
	snap.requests[2].val.created_ns = 0; /* unknown: the usage map's time stands */
	strcpy(snap.usage[0].key.model, "m");
	snap.usage[0].created_ns = 4000;
	strcpy(snap.usage[1].key.model, "n");
	snap.usage[1].created_ns = 8000;
	snap.nusage = 2;

	cr_assert_eq(snapshot__fold_request_usage(&snap), 0);
	cr_assert_eq(snap.nusage, 2);
	cr_expect_str_eq(snap.usage[0].key.model, "m");
	cr_expect_eq(snap.usage[0].val.tokens[CCPROXY_TOKENS_INPUT], 11);
	cr_expect_eq(snap.usage[0].created_ns, 3000);
	cr_expect_str_eq(snap.usage[1].key.model, "n");
	cr_expect_eq(snap.usage[1].val.cost_nusd, 1);
	cr_expect_eq(snap.usage[1].created_ns, 8000);

	cr_assert_eq(snapshot__fold_request_latency(&snap), 0);
	cr_assert_eq(snap.nlatency, 1);
	cr_expect_eq(snap.latency[0].val.stream_chunks, 3);
	cr_expect_eq(snap.latency[0].created_ns, 3000);
	snapshot__free(&snap);
}

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "expo.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct strbuf sb;

static void setup(void)
{
	memset(&sb, 0, sizeof(sb));
}

static void teardown(void)
{
	strbuf__free(&sb);
}

TestSuite(expo, .init = setup, .fini = teardown);

static double from_bits(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* ---- expo__format_double: Python's repr(float) ---- */

/*
 * Criterion runs each parameterized test in a freshly started process, where pointers into
 * the parent's data are not valid: parameters hold their strings by value.
 */
struct double_case {
	double v;
	char want[EXPO_NUMBER_MAX];
};

/* Expected strings are /usr/bin/python3's repr() of the same literal. */
static struct double_case double_cases[] = {
	{0.0, "0.0"},
	{-0.0, "-0.0"},
	{1.0, "1.0"},
	{-1.0, "-1.0"},
	{25.0, "25.0"},
	{0.01, "0.01"},
	{0.05, "0.05"},
	{0.1, "0.1"},
	{0.25, "0.25"},
	{0.5, "0.5"},
	{2.5, "2.5"},
	{5.0, "5.0"},
	{10.0, "10.0"},
	{0.001, "0.001"},
	{0.005, "0.005"},
	{1e-05, "1e-05"},
	{0.0001, "0.0001"},
	{0.00012345, "0.00012345"},
	{1.2345e-05, "1.2345e-05"},
	{1e16, "1e+16"},
	{1e15, "1000000000000000.0"},
	{9999999999999998.0, "9999999999999998.0"},
	{1.5e16, "1.5e+16"},
	{0.1 + 0.2, "0.30000000000000004"},
	{123456789.123, "123456789.123"},
	{1.5e300, "1.5e+300"},
	{5e-324, "5e-324"},
	{1e-323, "1e-323"},
	{2.2250738585072014e-308, "2.2250738585072014e-308"},
	{2.225073858507201e-308, "2.225073858507201e-308"},
	{1.7976931348623157e308, "1.7976931348623157e+308"},
	{-1.7976931348623157e308, "-1.7976931348623157e+308"},
	{9007199254740992.0, "9007199254740992.0"},
	{9007199254740993.0, "9007199254740992.0"},
	{9007199254740994.0, "9007199254740994.0"},
	{9007199254740991.0, "9007199254740991.0"},
	{18446744073709551616.0, "1.8446744073709552e+19"},
	{1e22, "1e+22"},
	{1e23, "1e+23"},
	{3.141592653589793, "3.141592653589793"},
	{2.0 / 3.0, "0.6666666666666666"},
	{1.0 / 3.0, "0.3333333333333333"},
	{100.0 / 3.0, "33.333333333333336"},
	{0.3, "0.3"},
	{12.345, "12.345"},
	{1e-07, "1e-07"},
	{1.5e-07, "1.5e-07"},
	{0.000123456789, "0.000123456789"},
	{123456.789e3, "123456789.0"},
	{0.1 * 3, "0.30000000000000004"},
	{1e100, "1e+100"},
	{1e-100, "1e-100"},
	{-2.5e-5, "-2.5e-05"},
	{4.35, "4.35"},
	{0.000001, "1e-06"},
	{1234567.0, "1234567.0"},
	{1234567.5, "1234567.5"},
	{8.98846567431158e307, "8.98846567431158e+307"},
	{5.764607523034235e17, "5.764607523034235e+17"},
	{7.120236347223045e-307, "7.120236347223045e-307"},
};

ParameterizedTestParameters(expo, format_double_examples)
{
	return cr_make_param_array(struct double_case, double_cases, ARRAY_SIZE(double_cases));
}

ParameterizedTest(struct double_case *c, expo, format_double_examples)
{
	char buf[EXPO_NUMBER_MAX];
	size_t n = expo__format_double(buf, sizeof(buf), c->v);

	cr_expect_str_eq(buf, c->want, "repr(%.17g)", c->v);
	cr_expect_eq(n, strlen(c->want));
}

Test(expo, format_double_specials)
{
	char buf[EXPO_NUMBER_MAX];

	cr_expect_eq(expo__format_double(buf, sizeof(buf), INFINITY), 4);
	cr_expect_str_eq(buf, "+Inf");
	expo__format_double(buf, sizeof(buf), -INFINITY);
	cr_expect_str_eq(buf, "-Inf");
	cr_expect_eq(expo__format_double(buf, sizeof(buf), NAN), 3);
	cr_expect_str_eq(buf, "NaN");
	expo__format_double(buf, sizeof(buf), -NAN);
	cr_expect_str_eq(buf, "NaN");
}

struct repr_golden {
	uint64_t bits;
	const char *want;
};

/* About 2600 doubles: powers of two, subnormals, random bit patterns, short decimals. */
static const struct repr_golden repr_golden[] = {
#include "golden/expo_repr.inc"
};

Test(expo, format_double_matches_python_golden)
{
	char buf[EXPO_NUMBER_MAX];
	size_t i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(repr_golden); i++) {
		double v = from_bits(repr_golden[i].bits);
		size_t n = expo__format_double(buf, sizeof(buf), v);

		if (strcmp(buf, repr_golden[i].want) || n != strlen(buf)) {
			cr_log_error("bits %016llx: got %s, want %s",
				     (unsigned long long)repr_golden[i].bits, buf,
				     repr_golden[i].want);
			bad++;
		}
	}
	cr_expect_eq(bad, 0, "%zu of %zu differ from Python", bad, ARRAY_SIZE(repr_golden));
	cr_expect_gt(ARRAY_SIZE(repr_golden), 2000);
}

/* Every output reads back as the same double and fits EXPO_NUMBER_MAX. */
Test(expo, format_double_round_trips)
{
	char buf[EXPO_NUMBER_MAX];
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	int i;

	for (i = 0; i < 100000; i++) {
		double v;
		size_t n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = from_bits(x);
		if (!isfinite(v))
			continue;
		n = expo__format_double(buf, sizeof(buf), v);
		cr_assert_lt(n, EXPO_NUMBER_MAX);
		cr_assert_eq(strtod(buf, NULL), v, "%s", buf);
		cr_assert(strchr(buf, '.') || strchr(buf, 'e'), "%s looks like an int", buf);
	}
}

Test(expo, format_truncates_like_snprintf)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	cr_expect_eq(expo__format_double(buf, 5, 0.30000000000000004), 19);
	cr_expect_str_eq(buf, "0.30");
	cr_expect_eq(buf[5], 'X');
	cr_expect_eq(expo__format_double(buf, 1, 1.0), 3);
	cr_expect_str_eq(buf, "");
	cr_expect_eq(expo__format_double(NULL, 0, 1.0), 3);
	cr_expect_eq(expo__format_double(buf, 4, 25.0), 4);
	cr_expect_str_eq(buf, "25.");
	cr_expect_eq(expo__format_double(buf, 4, INFINITY), 4);
	cr_expect_str_eq(buf, "+In");
	cr_expect_eq(expo__format_u64(buf, 3, 12345), 7);
	cr_expect_str_eq(buf, "12");
	cr_expect_eq(expo__format_u64(NULL, 0, 7), 3);
}

/* ---- expo__format_u64 ---- */

struct u64_case {
	uint64_t v;
	char want[EXPO_NUMBER_MAX];
};

static struct u64_case u64_cases[] = {
	{0, "0.0"},
	{1, "1.0"},
	{9, "9.0"},
	{10, "10.0"},
	{99, "99.0"},
	{100, "100.0"},
	{12345, "12345.0"},
	{1000000, "1000000.0"},
	{4294967295ULL, "4294967295.0"},
	{9007199254740993ULL, "9007199254740993.0"},
	{9999999999999999ULL, "9999999999999999.0"},
	{10000000000000000ULL, "10000000000000000.0"},
	{10000000000000000000ULL, "10000000000000000000.0"},
	{18446744073709551615ULL, "18446744073709551615.0"},
};

ParameterizedTestParameters(expo, format_u64)
{
	return cr_make_param_array(struct u64_case, u64_cases, ARRAY_SIZE(u64_cases));
}

ParameterizedTest(struct u64_case *c, expo, format_u64)
{
	char buf[EXPO_NUMBER_MAX];

	cr_expect_eq(expo__format_u64(buf, sizeof(buf), c->v), strlen(c->want));
	cr_expect_str_eq(buf, c->want);
}

/* Below 2^53 a counter reads the same through either function. */
Test(expo, format_u64_agrees_with_double_below_2_53)
{
	char a[EXPO_NUMBER_MAX], b[EXPO_NUMBER_MAX];
	uint64_t v;

	for (v = 1; v < (1ULL << 53); v = v * 3 + 1) {
		expo__format_u64(a, sizeof(a), v);
		expo__format_double(b, sizeof(b), (double)v);
		cr_expect_str_eq(a, b);
	}
}

/* ---- expo__label_value ---- */

struct label_case {
	char in[16]; /* "NULL" stands for a NULL pointer */
	size_t max;
	char fallback[8];
	char want[32];
};

#define FFFD "\xEF\xBF\xBD"

static struct label_case label_cases[] = {
	{"POST", 16, "unknown", "POST"},
	{"/v1/messages", 64, "", "/v1/messages"},
	{"", 16, "unknown", "unknown"},
	{"", 16, "", ""},
	{"NULL", 16, "unknown", "unknown"},
	{"abc", 0, "unknown", "unknown"},
	{"abc", 2, "", "ab"},
	{"abc", SIZE_MAX, "", "abc"},
	{"say \"hi\"", 64, "", "say \\\"hi\\\""},
	{"a\\b", 64, "", "a\\\\b"},
	{"line1\nline2", 64, "", "line1\\nline2"},
	{"\\\"\n", 64, "", "\\\\\\\"\\n"},
	{"\\n", 64, "", "\\\\n"},
	{"tab\there\r", 64, "", "tab\there\r"},
	{"\"", 1, "", "\\\""},
	/* Well-formed UTF-8 passes through. */
	{"caf\xC3\xA9", 64, "", "caf\xC3\xA9"},
	{"\xE2\x82\xAC 5", 64, "", "\xE2\x82\xAC 5"},
	{"\xF0\x9F\x98\x80", 64, "", "\xF0\x9F\x98\x80"},
	{"\xF4\x8F\xBF\xBF", 64, "", "\xF4\x8F\xBF\xBF"},
	{"\xED\x9F\xBF", 64, "", "\xED\x9F\xBF"},
	{"\xEE\x80\x80", 64, "", "\xEE\x80\x80"},
	{FFFD, 64, "", FFFD},
	/* max cuts a sequence: what is left is a truncated sequence. */
	{"caf\xC3\xA9", 4, "", "caf" FFFD},
	{"\xE2\x82\xAC", 1, "", FFFD},
	{"\xE2\x82\xAC", 2, "", FFFD},
	{"\xF0\x9F\x98\x80", 3, "", FFFD},
	{"\xF0\x9F\x98\x80", 1, "unknown", FFFD},
	{"a\xF0\x9F\x98\x80", 1, "", "a"},
	/* NUL ends the value, also inside a sequence. */
	{"ab\0cd", 64, "", "ab"},
	{"\xC3\0\xA9", 64, "", FFFD},
	/* Invalid: stray continuation bytes, each one replaced. */
	{"\x80", 64, "", FFFD},
	{"a\xBF\x80z", 64, "", "a" FFFD FFFD "z"},
	/* Overlongs: C0, C1 never valid; E0 80..9F and F0 80..8F too short a code point. */
	{"\xC0\xAF", 64, "", FFFD FFFD},
	{"\xC1\xBF", 64, "", FFFD FFFD},
	{"\xE0\x80\xAF", 64, "", FFFD FFFD FFFD},
	{"\xE0\x9F\xBF", 64, "", FFFD FFFD FFFD},
	{"\xF0\x80\x80\xAF", 64, "", FFFD FFFD FFFD FFFD},
	{"\xF0\x8F\xBF\xBF", 64, "", FFFD FFFD FFFD FFFD},
	/* Surrogates U+D800..U+DFFF. */
	{"\xED\xA0\x80", 64, "", FFFD FFFD FFFD},
	{"\xED\xBF\xBF", 64, "", FFFD FFFD FFFD},
	/* Above U+10FFFF. */
	{"\xF4\x90\x80\x80", 64, "", FFFD FFFD FFFD FFFD},
	{"\xF5\x80\x80\x80", 64, "", FFFD FFFD FFFD FFFD},
	{"\xF8\x88\x80\x80\x80", 64, "", FFFD FFFD FFFD FFFD FFFD},
	{"\xFE\xFF", 64, "", FFFD FFFD},
	/* Truncated sequences followed by more text: one U+FFFD per maximal subpart. */
	{"\xC3z", 64, "", FFFD "z"},
	{"\xE2\x82z", 64, "", FFFD "z"},
	{"\xF0\x9F\x98z", 64, "", FFFD "z"},
	{"\xF0\x9F\x98\"", 64, "", FFFD "\\\""},
	{"\xE2\x82\xC3\xA9", 64, "", FFFD "\xC3\xA9"},
	{"\xF0\x9F\xF0\x9F\x98\x80", 64, "", FFFD "\xF0\x9F\x98\x80"},
	{"\xE2\n", 64, "", FFFD "\\n"},
};

ParameterizedTestParameters(expo, label_value)
{
	return cr_make_param_array(struct label_case, label_cases, ARRAY_SIZE(label_cases));
}

ParameterizedTest(struct label_case *c, expo, label_value)
{
	const char *in = strcmp(c->in, "NULL") ? c->in : NULL;
	const char *fallback = c->fallback[0] ? c->fallback : NULL;

	cr_assert_eq(expo__label_value(&sb, in, c->max, fallback), 0);
	cr_expect_str_eq(sb.buf ? sb.buf : "", c->want);
	cr_expect_eq(sb.len, strlen(c->want));
}

struct label_golden {
	const char *in;
	size_t len;
	const char *want;
};

/* Random byte strings, expected from Python's decode("utf-8", "replace") and escaping. */
static const struct label_golden label_golden[] = {
#include "golden/expo_label.inc"
};

Test(expo, label_value_matches_python_golden)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(label_golden); i++) {
		const struct label_golden *g = &label_golden[i];
		size_t cut = strnlen(g->in, g->len);

		strbuf__reset(&sb);
		cr_assert_eq(expo__label_value(&sb, g->in, g->len, NULL), 0);
		if (cut < g->len)
			continue; /* a NUL in the input: checked by the table above */
		cr_expect_eq(sb.len, strlen(g->want), "case %zu", i);
		cr_expect_str_eq(sb.buf, g->want, "case %zu", i);
	}
}

/* A fixed-size array filled to the brim has no NUL; max keeps the read inside it. */
Test(expo, label_value_reads_no_further_than_max)
{
	char *model = malloc(8);

	cr_assert_not_null(model);
	memcpy(model, "claude-x", 8);
	cr_assert_eq(expo__label_value(&sb, model, 8, "unknown"), 0);
	cr_expect_str_eq(sb.buf, "claude-x");
	free(model);
}

Test(expo, label_value_long_strings)
{
	const size_t reps = 200000;
	const char unit[] = "a\"\\\n\xC3\xA9\xFF";
	const char esc[] = "a\\\"\\\\\\n\xC3\xA9" FFFD;
	size_t ulen = sizeof(unit) - 1, elen = sizeof(esc) - 1, i;
	char *in = malloc(reps * ulen + 1);

	cr_assert_not_null(in);
	for (i = 0; i < reps; i++)
		memcpy(in + i * ulen, unit, ulen);
	in[reps * ulen] = '\0';
	cr_assert_eq(expo__label_value(&sb, in, SIZE_MAX, NULL), 0);
	cr_assert_eq(sb.len, reps * elen);
	for (i = 0; i < reps; i++)
		cr_assert_eq(memcmp(sb.buf + i * elen, esc, elen), 0, "unit %zu", i);
	cr_expect_eq(sb.buf[sb.len], '\0');
	free(in);
}

Test(expo, label_value_appends)
{
	cr_assert_eq(strbuf__puts(&sb, "x="), 0);
	cr_assert_eq(expo__label_value(&sb, "a\"b", 8, NULL), 0);
	cr_assert_eq(expo__label_value(&sb, "", 8, "unknown"), 0);
	cr_expect_str_eq(sb.buf, "x=a\\\"bunknown");
}

/* ---- expo__help ---- */

struct help_case {
	char in[48]; /* "NULL" stands for a NULL pointer */
	char want[48];
};

static struct help_case help_cases[] = {
	{"Total number of requests processed", "Total number of requests processed"},
	{"", ""},
	{"NULL", ""},
	{"a\\b", "a\\\\b"},
	{"two\nlines", "two\\nlines"},
	{"\\\n\\", "\\\\\\n\\\\"},
	/* Quotes are only special inside label values. */
	{"say \"hi\"", "say \"hi\""},
	{"caf\xC3\xA9\t", "caf\xC3\xA9\t"},
};

ParameterizedTestParameters(expo, help)
{
	return cr_make_param_array(struct help_case, help_cases, ARRAY_SIZE(help_cases));
}

ParameterizedTest(struct help_case *c, expo, help)
{
	cr_assert_eq(expo__help(&sb, strcmp(c->in, "NULL") ? c->in : NULL), 0);
	cr_expect_str_eq(sb.buf ? sb.buf : "", c->want);
}

/* ---- expo__family ---- */

Test(expo, family_with_namespace)
{
	cr_assert_eq(expo__family(&sb, "ccproxy", "requests_total",
				  "Total number of requests processed", "counter"),
		     0);
	cr_expect_str_eq(sb.buf,
			 "# HELP ccproxy_requests_total Total number of requests processed\n"
			 "# TYPE ccproxy_requests_total counter\n");
}

Test(expo, family_without_namespace)
{
	cr_assert_eq(expo__family(&sb, NULL, "up", "Service is up and running", "gauge"), 0);
	cr_assert_eq(expo__family(&sb, "", "up", "Service is up and running", "gauge"), 0);
	cr_expect_str_eq(sb.buf, "# HELP up Service is up and running\n# TYPE up gauge\n"
				 "# HELP up Service is up and running\n# TYPE up gauge\n");
}

Test(expo, family_escapes_help)
{
	cr_assert_eq(expo__family(&sb, "ns", "x", "a\\b\nc", "histogram"), 0);
	cr_expect_str_eq(sb.buf, "# HELP ns_x a\\\\b\\nc\n# TYPE ns_x histogram\n");
}

/* ---- expo__sample ---- */

Test(expo, sample_without_labels)
{
	cr_assert_eq(expo__sample(&sb, "ccproxy", "active_requests", NULL, NULL, 0, "0.0"), 0);
	cr_assert_eq(expo__sample(&sb, "", "up", "", NULL, 0, "1.0"), 0);
	cr_expect_str_eq(sb.buf, "ccproxy_active_requests 0.0\nup 1.0\n");
}

Test(expo, sample_with_labels_and_suffix)
{
	const char model[16] = "claude-x";
	const struct expo_label labels[] = {
		{"endpoint", "/v1/messages", 64, "unknown"},
		{"le", "0.5", 8, NULL},
		{"model", model, sizeof(model), "unknown"},
		{"service_type", "", 32, "unknown"},
	};

	cr_assert_eq(expo__sample(&sb, "ccproxy", "response_duration_seconds", "_bucket", labels,
				  ARRAY_SIZE(labels), "1.0"),
		     0);
	cr_expect_str_eq(sb.buf,
			 "ccproxy_response_duration_seconds_bucket{endpoint=\"/v1/messages\","
			 "le=\"0.5\",model=\"claude-x\",service_type=\"unknown\"} 1.0\n");
}

Test(expo, sample_escapes_label_values)
{
	const struct expo_label labels[] = {
		{"error_type", "Bad \"quote\"\\\n", 64, NULL},
		{"model", "\xC3", 64, NULL},
		{"x", "", 8, NULL},
	};

	cr_assert_eq(expo__sample(&sb, NULL, "errors_total", NULL, labels, 3, "2.0"), 0);
	cr_expect_str_eq(sb.buf, "errors_total{error_type=\"Bad \\\"quote\\\"\\\\\\n\","
				 "model=\"" FFFD "\",x=\"\"} 2.0\n");
}

Test(expo, sample_matches_label_value)
{
	const char *values[] = {"plain", "q\"", "\xE2\x82", "\xF0\x9F\x98\x80\\", ""};
	struct strbuf want = STRBUF_INIT;
	struct expo_label l = {"v", NULL, 64, "fb"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(values); i++) {
		l.value = values[i];
		strbuf__reset(&sb);
		strbuf__reset(&want);
		cr_assert_eq(expo__sample(&sb, "ns", "m", "_sum", &l, 1, "0.5"), 0);
		strbuf__puts(&want, "ns_m_sum{v=\"");
		expo__label_value(&want, values[i], 64, "fb");
		strbuf__puts(&want, "\"} 0.5\n");
		cr_assert_eq(want.err, 0);
		cr_expect_str_eq(sb.buf, want.buf);
	}
	strbuf__free(&want);
}

Test(expo, sticky_error_stops_every_writer)
{
	const struct expo_label l = {"a", "b", 1, NULL};
	char *before;

	cr_assert_eq(strbuf__puts(&sb, "kept"), 0);
	cr_assert_eq(strbuf__reserve(&sb, SIZE_MAX), -ENOMEM);
	before = strdup(sb.buf);
	cr_expect_eq(expo__label_value(&sb, "x", 1, NULL), -ENOMEM);
	cr_expect_eq(expo__label_value(&sb, "", 1, "fallback"), -ENOMEM);
	cr_expect_eq(expo__label_value(&sb, "", 1, NULL), -ENOMEM);
	cr_expect_eq(expo__help(&sb, "h\n"), -ENOMEM);
	cr_expect_eq(expo__family(&sb, "ns", "n", "h", "gauge"), -ENOMEM);
	cr_expect_eq(expo__sample(&sb, "ns", "n", NULL, &l, 1, "1.0"), -ENOMEM);
	cr_expect_str_eq(sb.buf, before);
	cr_expect_eq(sb.len, 4);
	free(before);
}

/* The scrape path: 10k labelled samples in one buffer, every line intact. */
Test(expo, render_10k_samples)
{
	static const char *models[] = {"claude-x", "claude \"y\"", "m\xC3\xA9", ""};
	char value[EXPO_NUMBER_MAX], want[256], status[8];
	size_t i, lines = 0;
	char *line, *save = NULL;

	for (i = 0; i < 10000; i++) {
		struct expo_label labels[] = {
			{"endpoint", "/v1/messages", 64, "unknown"},
			{"method", "POST", 16, "unknown"},
			{"model", models[i % 4], 64, "unknown"},
			{"service_type", "claude_api", 32, "unknown"},
			{"status", status, sizeof(status), "error"},
		};

		snprintf(status, sizeof(status), "%zu", 200 + i % 5);
		expo__format_double(value, sizeof(value), i % 2 ? (double)i : i / 1e3);
		expo__sample(&sb, "ccproxy", "requests_total", NULL, labels, 5, value);
	}
	cr_assert_eq(sb.err, 0);
	cr_assert_eq(strlen(sb.buf), sb.len);
	for (line = strtok_r(sb.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		static const char *escaped[] = {"claude-x", "claude \\\"y\\\"", "m\xC3\xA9",
						"unknown"};
		char num[EXPO_NUMBER_MAX];

		expo__format_double(num, sizeof(num), lines % 2 ? (double)lines : lines / 1e3);
		snprintf(want, sizeof(want),
			 "ccproxy_requests_total{endpoint=\"/v1/messages\",method=\"POST\","
			 "model=\"%s\",service_type=\"claude_api\",status=\"%zu\"} %s",
			 escaped[lines % 4], 200 + lines % 5, num);
		cr_assert_str_eq(line, want, "line %zu", lines);
		lines++;
	}
	cr_expect_eq(lines, 10000);
}

Test(expo, labels_text_and_sample_text)
{
	const struct expo_label l[] = {
		{.name = "a", .value = "x\"y", .max = SIZE_MAX},
		{.name = "b", .value = "", .max = SIZE_MAX, .fallback = "unknown"},
	};
	struct strbuf sb = STRBUF_INIT;

	cr_assert_eq(expo__labels(&sb, l, 2), 0);
	cr_expect_str_eq(sb.buf, "a=\"x\\\"y\",b=\"unknown\"");
	strbuf__reset(&sb);
	cr_assert_eq(expo__labels(&sb, l, 0), 0);
	cr_expect_eq(sb.len, 0);
	cr_assert_eq(expo__sample_text(&sb, "ns", "h", "_bucket", "a=\"1\",", "le=\"+Inf\"",
				       ",b=\"2\"", "3.0"),
		     0);
	cr_expect_str_eq(sb.buf, "ns_h_bucket{a=\"1\",le=\"+Inf\",b=\"2\"} 3.0\n");
	strbuf__reset(&sb);
	cr_assert_eq(expo__sample_text(&sb, NULL, "c", NULL, "", "", "", "0.0"), 0);
	cr_expect_str_eq(sb.buf, "c 0.0\n");
	strbuf__free(&sb);
}

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "negotiate.h"

/* What Prometheus 2.42 sends, with and without --enable-feature=native-histograms. */
#define PROM_ACCEPT                                                                              \
	"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" \
	"q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
#define PROM_ACCEPT_PROTO                                                                   \
	"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"          \
	"encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"              \
	"application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5," \
	"*/*;q=0.1"
#define PROTO          \
	"application/" \
	"vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"

#define ALL NEGOTIATE_OFFER_ALL
#define TXT NEGOTIATE_OFFER_TEXT
#define OM  (NEGOTIATE_OFFER_TEXT | NEGOTIATE_OFFER_OPENMETRICS)
#define PB  (NEGOTIATE_OFFER_TEXT | NEGOTIATE_OFFER_PROTOBUF)

struct neg_case {
	char accept[320];
	bool null;
	unsigned int offered;
	enum negotiate_format want;
};

ParameterizedTestParameters(negotiate, format)
{
	static struct neg_case cases[] = {
		{"", true, ALL, FMT_TEXT_0_0_4},
		{"", false, ALL, FMT_TEXT_0_0_4},
		{"*/*", false, ALL, FMT_TEXT_0_0_4},
		{"text/*", false, ALL, FMT_TEXT_0_0_4},
		{"application/*", false, ALL, FMT_TEXT_0_0_4},
		{PROM_ACCEPT, false, ALL, FMT_OPENMETRICS_1_0_0},
		{PROM_ACCEPT_PROTO, false, ALL, FMT_PROTOBUF_DELIMITED},
		{PROM_ACCEPT_PROTO, false, OM, FMT_OPENMETRICS_1_0_0},
		{PROM_ACCEPT_PROTO, false, PB, FMT_PROTOBUF_DELIMITED},
		{PROM_ACCEPT_PROTO, false, TXT, FMT_TEXT_0_0_4},
		{PROM_ACCEPT, false, TXT, FMT_TEXT_0_0_4},
		{PROM_ACCEPT, false, PB, FMT_TEXT_0_0_4},
		{PROTO, false, ALL, FMT_PROTOBUF_DELIMITED},
		/* Spaces, case and quoted values as RFC 9110 allows them. */
		{" APPLICATION/VND.GOOGLE.PROTOBUF ; Proto=io.prometheus.client.MetricFamily ; "
		 "ENCODING=delimited",
		 false, ALL, FMT_PROTOBUF_DELIMITED},
		{"application/openmetrics-text; version=\"1.0.0\"", false, ALL,
		 FMT_OPENMETRICS_1_0_0},
		/* Another protobuf encoding, or protocol, is not offered. */
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
		 "encoding=text",
		 false, ALL, FMT_TEXT_0_0_4},
		{"application/vnd.google.protobuf;proto=other.Message;encoding=delimited", false,
		 ALL, FMT_TEXT_0_0_4},
		{"application/vnd.google.protobuf", false, ALL, FMT_TEXT_0_0_4},
		/* OpenMetrics without a version is 0.0.1 (client_golang); an unknown one is not. */
		{"application/openmetrics-text", false, ALL, FMT_OPENMETRICS_0_0_1},
		{"application/openmetrics-text;version=0.0.1", false, ALL, FMT_OPENMETRICS_0_0_1},
		{"application/openmetrics-text;version=2.0.0", false, ALL, FMT_TEXT_0_0_4},
		{"text/plain;version=0.0.5, application/openmetrics-text;q=0.1", false, ALL,
		 FMT_OPENMETRICS_0_0_1},
		/* q decides; a tie goes to the earlier range. */
		{"text/plain;q=0.9, application/openmetrics-text;version=1.0.0", false, ALL,
		 FMT_OPENMETRICS_1_0_0},
		{"application/openmetrics-text;version=1.0.0;q=0.5, text/plain;q=0.9", false, ALL,
		 FMT_TEXT_0_0_4},
		{"text/plain;q=0.5, " PROTO ";q=0.5", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=0.5, text/plain;q=0.5", false, ALL, FMT_PROTOBUF_DELIMITED},
		{PROTO ";q=0.501, text/plain;q=0.5", false, ALL, FMT_PROTOBUF_DELIMITED},
		/* q=0 refuses; malformed q-values and ranges are skipped. */
		{PROTO ";q=0", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=0.000", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=1.5", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=1.001", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=-1", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=0.0001", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=nan", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=1e0", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=0.5;q=x", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=x;q=0.5", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";;", false, ALL, FMT_TEXT_0_0_4},
		{PROTO ";q=1.000", false, ALL, FMT_PROTOBUF_DELIMITED},
		{",,,," PROTO ",,,", false, ALL, FMT_PROTOBUF_DELIMITED},
		{"\x01\xff" PROTO, false, ALL, FMT_TEXT_0_0_4},
	};

	return cr_make_param_array(struct neg_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct neg_case *c, negotiate, format)
{
	enum negotiate_format got = negotiate__format(c->null ? NULL : c->accept, c->offered);

	cr_expect_eq(got, c->want, "\"%s\" offered %#x: got %d, want %d",
		     c->null ? "(null)" : c->accept, c->offered, (int)got, (int)c->want);
}

Test(negotiate, content_types)
{
	cr_expect_str_eq(negotiate__content_type(FMT_TEXT_0_0_4),
			 "text/plain; version=0.0.4; charset=utf-8");
	cr_expect_str_eq(negotiate__content_type(FMT_OPENMETRICS_1_0_0),
			 "application/openmetrics-text; version=1.0.0; charset=utf-8");
	cr_expect_str_eq(negotiate__content_type(FMT_OPENMETRICS_0_0_1),
			 "application/openmetrics-text; version=0.0.1; charset=utf-8");
	cr_expect_str_eq(negotiate__content_type(FMT_PROTOBUF_DELIMITED),
			 "application/vnd.google.protobuf; "
			 "proto=io.prometheus.client.MetricFamily; encoding=delimited");
	cr_expect_str_eq(negotiate__content_type(FMT_COUNT),
			 "text/plain; version=0.0.4; charset=utf-8");
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(hl + ul * times + tl + 1), *p = s;

	cr_assert_not_null(s);
	memcpy(p, head, hl);
	for (p += hl, i = 0; i < times; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

/* A header too long to be an honest one is not read at all. */
Test(negotiate, huge_header_is_text)
{
	char *s = repeat(PROTO, " ", NEGOTIATE_ACCEPT_MAX, "");

	cr_expect_eq(negotiate__format(s, ALL), FMT_TEXT_0_0_4);
	free(s);
	s = repeat(PROTO, " ", NEGOTIATE_ACCEPT_MAX - strlen(PROTO), "");
	cr_expect_eq(negotiate__format(s, ALL), FMT_PROTOBUF_DELIMITED);
	free(s);
}

/* Thousands of parameters or ranges cost linear time and change nothing they should not. */
Test(negotiate, many_params, .timeout = 5)
{
	char *s = repeat(PROTO, ";a=b", 1000, "");

	cr_expect_eq(negotiate__format(s, ALL), FMT_PROTOBUF_DELIMITED);
	free(s);
	s = repeat("text/plain;q=0.1", ",x/y;q=0.9", 300, "," PROTO ";q=0.2");
	cr_expect_eq(negotiate__format(s, ALL), FMT_PROTOBUF_DELIMITED);
	free(s);
	s = repeat("", ";", 4000, "");
	cr_expect_eq(negotiate__format(s, ALL), FMT_TEXT_0_0_4);
	free(s);
	s = repeat("", ",", 4000, "");
	cr_expect_eq(negotiate__format(s, ALL), FMT_TEXT_0_0_4);
	free(s);
}

Test(negotiate, parse_offers)
{
	unsigned int m = 0;
	const char *why = NULL;
	char buf[64];

	cr_expect_eq(negotiate__parse_offers("text,openmetrics,protobuf", &m, NULL), 0);
	cr_expect_eq(m, NEGOTIATE_OFFER_ALL);
	cr_expect_eq(negotiate__parse_offers("protobuf", &m, NULL), 0);
	cr_expect_eq(m, PB);
	cr_expect_eq(negotiate__parse_offers(" openmetrics , text ", &m, NULL), 0);
	cr_expect_eq(m, OM);
	cr_expect_eq(negotiate__parse_offers("text", &m, NULL), 0);
	cr_expect_eq(m, TXT);
	cr_expect_eq(negotiate__parse_offers("", &m, &why), -EINVAL);
	cr_expect_not_null(why);
	cr_expect_eq(negotiate__parse_offers("text,,protobuf", &m, NULL), -EINVAL);
	cr_expect_eq(negotiate__parse_offers("json", &m, NULL), -EINVAL);
	cr_expect_eq(negotiate__parse_offers("Text", &m, NULL), -EINVAL);
	negotiate__format_offers(NEGOTIATE_OFFER_ALL, buf, sizeof(buf));
	cr_expect_str_eq(buf, "text,openmetrics,protobuf");
	negotiate__format_offers(PB, buf, sizeof(buf));
	cr_expect_str_eq(buf, "text,protobuf");
}

// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "negotiate.h"

#define PROTO_TYPE     "application/vnd.google.protobuf"
#define PROTO_PROTOCOL "io.prometheus.client.MetricFamily"
#define OM_TYPE	       "application/openmetrics-text"

static const char *const content_types[FMT_COUNT] = {
	[FMT_TEXT_0_0_4] = "text/plain; version=0.0.4; charset=utf-8",
	[FMT_OPENMETRICS_1_0_0] = "application/openmetrics-text; version=1.0.0; charset=utf-8",
	[FMT_OPENMETRICS_0_0_1] = "application/openmetrics-text; version=0.0.1; charset=utf-8",
	[FMT_PROTOBUF_DELIMITED] = ("application/vnd.google.protobuf; "
				    "proto=io.prometheus.client.MetricFamily; encoding=delimited"),
};

struct span {
	const char *p;
	size_t n;
};

/* One media range as far as negotiation cares: its type and the parameters read. */
struct range {
	struct span type, version, proto, encoding;
	int q; /* thousandths, 0..1000; -1: malformed */
};

static struct span span_trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return (struct span){p, n};
}

static bool span_is(struct span s, const char *lit)
{
	return strlen(lit) == s.n && strncasecmp(s.p, lit, s.n) == 0;
}

/* Parameter values compare exactly; a quoted-string loses its quotes. */
static bool value_is(struct span s, const char *lit)
{
	if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
		s = (struct span){s.p + 1, s.n - 2};
	return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0;
}

/* RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"], in thousandths; -1 if malformed. */
static int parse_qvalue(struct span v)
{
	int q, scale = 100;
	size_t i;

	if (v.n == 0 || (v.p[0] != '0' && v.p[0] != '1'))
		return -1;
	q = (v.p[0] - '0') * 1000;
	if (v.n == 1)
		return q;
	if (v.p[1] != '.' || v.n > 5)
		return -1;
	for (i = 2; i < v.n; i++, scale /= 10) {
		if (!isdigit((unsigned char)v.p[i]))
			return -1;
		q += (v.p[i] - '0') * scale;
	}
	return q <= 1000 ? q : -1;
}

static void read_param(struct range *r, struct span param)
{
	const char *eq = memchr(param.p, '=', param.n);
	struct span name, value;

	if (!eq) {
		r->q = -1; /* a parameter is name=value: the range is malformed */
		return;
	}
	name = span_trim(param.p, (size_t)(eq - param.p));
	value = span_trim(eq + 1, (size_t)(param.p + param.n - eq - 1));
	if (span_is(name, "q"))
		r->q = r->q < 0 ? -1 : parse_qvalue(value);
	else if (span_is(name, "version"))
		r->version = value;
	else if (span_is(name, "proto"))
		r->proto = value;
	else if (span_is(name, "encoding"))
		r->encoding = value;
}

/* Parses one comma-free element "type/subtype *(; param)". */
static void read_range(struct span el, struct range *r)
{
	const char *end = el.p + el.n, *semi = memchr(el.p, ';', el.n);

	*r = (struct range){.q = 1000};
	r->type = span_trim(el.p, semi ? (size_t)(semi - el.p) : el.n);
	while (semi && r->q >= 0) {
		const char *start = semi + 1;

		semi = memchr(start, ';', (size_t)(end - start));
		read_param(r, span_trim(start, (size_t)((semi ? semi : end) - start)));
	}
}

/* The format a range names, if on offer; FMT_COUNT for none. */
static enum negotiate_format range_format(const struct range *r, unsigned int offered)
{
	bool no_version = r->version.p == NULL;

	if (span_is(r->type, PROTO_TYPE) && value_is(r->proto, PROTO_PROTOCOL) &&
	    value_is(r->encoding, "delimited"))
		return (offered & NEGOTIATE_OFFER_PROTOBUF) ? FMT_PROTOBUF_DELIMITED : FMT_COUNT;
	if (span_is(r->type, "text/plain") && (no_version || value_is(r->version, "0.0.4")))
		return FMT_TEXT_0_0_4;
	if (!span_is(r->type, OM_TYPE) || !(offered & NEGOTIATE_OFFER_OPENMETRICS))
		return FMT_COUNT;
	if (value_is(r->version, "1.0.0"))
		return FMT_OPENMETRICS_1_0_0;
	if (no_version || value_is(r->version, "0.0.1"))
		return FMT_OPENMETRICS_0_0_1;
	return FMT_COUNT;
}

enum negotiate_format negotiate__format(const char *accept, unsigned int offered)
{
	enum negotiate_format best = FMT_TEXT_0_0_4, f;
	const char *p = accept, *comma;
	int best_q = 0;
	struct range r;

	if (!accept || strnlen(accept, NEGOTIATE_ACCEPT_MAX + 1) > NEGOTIATE_ACCEPT_MAX)
		return FMT_TEXT_0_0_4;
	/* The highest q wins and the earliest wins a tie: a stable sort's first match. */
	for (; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		read_range((struct span){p, comma ? (size_t)(comma - p) : strlen(p)}, &r);
		if (r.q <= best_q)
			continue;
		f = range_format(&r, offered);
		if (f == FMT_COUNT)
			continue;
		best = f;
		best_q = r.q;
	}
	return best;
}

const char *negotiate__content_type(enum negotiate_format f)
{
	return f < FMT_COUNT ? content_types[f] : content_types[FMT_TEXT_0_0_4];
}

static const struct {
	const char *name;
	unsigned int bit;
} offer_names[] = {
	{"text", NEGOTIATE_OFFER_TEXT},
	{"openmetrics", NEGOTIATE_OFFER_OPENMETRICS},
	{"protobuf", NEGOTIATE_OFFER_PROTOBUF},
};

int negotiate__parse_offers(const char *list, unsigned int *offered, const char **why)
{
	unsigned int mask = NEGOTIATE_OFFER_TEXT, bit;
	const char *p = list, *comma;
	struct span name;
	size_t i;

	for (; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		name = span_trim(p, comma ? (size_t)(comma - p) : strlen(p));
		for (i = 0, bit = 0; i < sizeof(offer_names) / sizeof(offer_names[0]); i++)
			if (name.n == strlen(offer_names[i].name) &&
			    !memcmp(name.p, offer_names[i].name, name.n))
				bit = offer_names[i].bit;
		if (!bit) {
			if (why)
				*why = "is not a list of text, openmetrics, protobuf";
			return -EINVAL;
		}
		mask |= bit;
	}
	*offered = mask;
	return 0;
}

void negotiate__format_offers(unsigned int offered, char *buf, size_t size)
{
	size_t i, n = 0;
	int w;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < sizeof(offer_names) / sizeof(offer_names[0]); i++) {
		if (!(offered & offer_names[i].bit) || n >= size)
			continue;
		w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", offer_names[i].name);
		if (w < 0)
			return;
		n += (size_t)w;
	}
}

/* ---- Accept-Encoding ---------------------------------------------------------------------- */

/* Whether one list element (coding *(";" param)) is acceptable; *coding gets its name. */
static bool element_accepts(struct span el, struct span *coding)
{
	const char *semi = memchr(el.p, ';', el.n), *end = el.p + el.n, *eq;
	struct span param;
	bool ok = true;

	*coding = span_trim(el.p, semi ? (size_t)(semi - el.p) : el.n);
	while (semi) {
		const char *start = semi + 1;

		semi = memchr(start, ';', (size_t)(end - start));
		param = span_trim(start, (size_t)((semi ? semi : end) - start));
		eq = memchr(param.p, '=', param.n);
		if (!eq || !span_is(span_trim(param.p, (size_t)(eq - param.p)), "q"))
			continue; /* other parameters do not matter here */
		/* A malformed weight refuses the coding rather than guessing. */
		ok = parse_qvalue(span_trim(eq + 1, (size_t)(param.p + param.n - eq - 1))) > 0;
	}
	return ok;
}

bool negotiate__gzip(const char *accept_encoding)
{
	int gzip = -1, star = -1; /* -1: not listed, 0: refused, 1: accepted */
	const char *p = accept_encoding, *comma;
	struct span coding;
	bool ok;

	if (!p)
		return false;
	for (; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		ok = element_accepts((struct span){p, comma ? (size_t)(comma - p) : strlen(p)},
				     &coding);
		/* A refusal sticks: "gzip, gzip;q=0" is a contradiction resolved safely. */
		if (span_is(coding, "gzip") || span_is(coding, "x-gzip"))
			gzip = gzip == 0 ? 0 : ok;
		else if (span_is(coding, "*"))
			star = star == 0 ? 0 : ok;
	}
	if (gzip >= 0)
		return gzip == 1;
	return star == 1;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The exposition writer round-tripped through a reader of the text format.
 *
 * From the input: a double, a u64, a label value and HELP text (raw bytes), and a snapshot
 * with one request series whose label arrays are the input's bytes. Written with expo and
 * render, then read back by the small parser below, which checks what Prometheus' parser
 * would: every line is a comment or `name{label="value",...} number`, label values are
 * escaped and valid UTF-8, and what it reads equals what was written (the value itself when
 * it was valid UTF-8, the number to the bit).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"
#include "render.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

/* Strict UTF-8: no overlongs, surrogates or code points above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
		if (!len || c > 0xf4 || i + len > n)
			return false;
		cp = c & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A quoted label value at *p (after the opening quote): unescaped into out, *p past it. */
static size_t read_value(const char **p, const char *end, char *out)
{
	size_t n = 0;

	while (*p < end && **p != '"') {
		char c = *(*p)++;

		CHECK(c != '\n');
		if (c == '\\') {
			CHECK(*p < end);
			c = *(*p)++;
			CHECK(c == '\\' || c == '"' || c == 'n');
			if (c == 'n')
				c = '\n';
		}
		out[n++] = c;
	}
	CHECK(*p < end);
	(*p)++;
	CHECK(utf8_valid((const unsigned char *)out, n));
	return n;
}

struct sample {
	char name[256];
	char values[8][1024];
	size_t lens[8], nlabels;
	char number[64];
};

/* One sample line, [s, end) without the newline. */
static void parse_sample(const char *s, const char *end, struct sample *out)
{
	const char *p = s;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	CHECK(p < end && name_char(*p, true));
	while (p < end && name_char(*p, false) && n < sizeof(out->name) - 1)
		out->name[n++] = *p++;
	if (p < end && *p == '{') {
		p++;
		while (p < end && *p != '}') {
			CHECK(name_char(*p, true));
			while (p < end && name_char(*p, false))
				p++;
			CHECK(p + 1 < end && p[0] == '=' && p[1] == '"');
			p += 2;
			CHECK(out->nlabels < 8);
			out->lens[out->nlabels] = read_value(&p, end, out->values[out->nlabels]);
			out->nlabels++;
			if (p < end && *p == ',')
				p++;
		}
		CHECK(p < end);
		p++;
	}
	CHECK(p < end && *p == ' ');
	p++;
	n = (size_t)(end - p);
	CHECK(n > 0 && n < sizeof(out->number));
	memcpy(out->number, p, n);
	CHECK(!strchr(out->number, ' '));
}

static void parse_text(const char *text, size_t len, void (*each)(const struct sample *, void *),
		       void *ctx)
{
	const char *p = text, *end = text + len, *nl;
	struct sample *s = malloc(sizeof(*s));

	CHECK(len == 0 || text[len - 1] == '\n');
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		CHECK(nl);
		if (*p == '#') {
			CHECK(nl - p > 7 && (!memcmp(p, "# HELP ", 7) || !memcmp(p, "# TYPE ", 7)));
			continue;
		}
		parse_sample(p, nl, s);
		if (each)
			each(s, ctx);
	}
	free(s);
}

static double read_number(const char *s)
{
	if (!strcmp(s, "+Inf"))
		return INFINITY;
	if (!strcmp(s, "-Inf"))
		return -INFINITY;
	if (!strcmp(s, "NaN"))
		return NAN;
	return strtod(s, NULL);
}

struct want {
	double d;
	uint64_t u;
	const char *value;
	size_t value_len;
	int seen;
};

static void check_expo_sample(const struct sample *s, void *ctx)
{
	struct want *w = ctx;
	char digits[32];
	double d;

	if (!strcmp(s->name, "ns_m_total")) {
		CHECK(s->nlabels == 1);
		if (w->value_len && utf8_valid((const unsigned char *)w->value, w->value_len))
			CHECK(s->lens[0] == w->value_len &&
			      !memcmp(s->values[0], w->value, w->value_len));
		if (!w->value_len)
			CHECK(!strcmp(s->values[0], "unknown"));
		d = read_number(s->number);
		CHECK(isnan(w->d) ? isnan(d) : d == w->d);
		w->seen |= 1;
	} else if (!strcmp(s->name, "ns_m_count")) {
		size_t n = strlen(s->number);

		CHECK(n > 2 && !strcmp(s->number + n - 2, ".0"));
		memcpy(digits, s->number, n - 2);
		digits[n - 2] = '\0';
		CHECK(strtoull(digits, NULL, 10) == w->u);
		w->seen |= 2;
	}
}

static void fuzz_expo(const uint8_t *data, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	struct want w = {0};
	char help[128];
	size_t hlen;

	memcpy(&w.d, data, 8);
	memcpy(&w.u, data + 8, 8);
	data += 16;
	size -= 16;
	/* Label value: the bytes up to a NUL (the reader stops there too). */
	w.value = (const char *)data;
	w.value_len = strnlen(w.value, size);
	hlen = size < sizeof(help) - 1 ? size : sizeof(help) - 1;
	memcpy(help, data, hlen);
	help[hlen] = '\0';
	{
		char num[EXPO_NUMBER_MAX], cnt[EXPO_NUMBER_MAX];
		const struct expo_label l[] = {{"a", w.value, size, "unknown"}};

		expo__format_double(num, sizeof(num), w.d);
		expo__format_u64(cnt, sizeof(cnt), w.u);
		expo__family(&sb, "ns", "m", help, "counter");
		expo__sample(&sb, "ns", "m", "_total", l, 1, num);
		expo__sample(&sb, "ns", "m", "_count", NULL, 0, cnt);
	}
	CHECK(sb.err == 0);
	parse_text(sb.buf, sb.len, check_expo_sample, &w);
	CHECK(w.seen == 3);
	strbuf__free(&sb);
}

/* One request series with label arrays straight from the input, rendered whole. */
static void fuzz_render(const uint8_t *data, size_t size)
{
	static const double buckets[] = {0.01, 0.1, 1, 10};
	struct render_opts ro = {.namespace_ = "ccproxy",
				 .families = {.response = buckets, .nresponse = 4}};
	struct snapshot snap = {0};
	struct snap_request req = {0};
	struct strbuf sb = STRBUF_INIT;

	memcpy(&req.key, data, size < sizeof(req.key) ? size : sizeof(req.key));
	req.key.flags &= 1;
	if (size > sizeof(req.key))
		memcpy(&req.val, data + sizeof(req.key),
		       size - sizeof(req.key) < sizeof(req.val) ? size - sizeof(req.key)
								: sizeof(req.val));
	snap.requests = &req;
	snap.nrequests = 1;
	CHECK(render__families(&snap, &ro, &sb) == 0);
	CHECK(render__self(&snap, 0.5, &sb) == 0);
	parse_text(sb.buf, sb.len, NULL, NULL);
	strbuf__free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 17)
		return 0;
	if (data[16] & 1)
		fuzz_render(data + 17, size - 17);
	else
		fuzz_expo(data, size);
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include "render_sink.h"

static int text_family(void *ctx, const struct render_family *f)
{
	static const char *const types[] = {
		[FAMILY_COUNTER] = "counter",
		[FAMILY_GAUGE] = "gauge",
		[FAMILY_HISTOGRAM] = "histogram",
	};
	struct text_sink *ts = ctx;

	return expo__family(ts->out, f->ns, f->name, f->help, types[f->type]);
}

static void format_value(char *num, size_t size, struct render_value v)
{
	if (v.is_u64)
		expo__format_u64(num, size, v.u);
	else
		expo__format_double(num, size, v.d);
}

static int text_sample(void *ctx, const struct render_family *f, const struct expo_label *l,
		       size_t n, struct render_value v)
{
	struct text_sink *ts = ctx;
	char num[EXPO_NUMBER_MAX];

	format_value(num, sizeof(num), v);
	return expo__sample(ts->out, f->ns, f->name, "", l, n, num);
}

static uint64_t bucket_total(const struct render_hist *h)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i <= h->nbounds; i++)
		total = snap_add(total, h->buckets[i]);
	return total;
}

/*
 * The labels are escaped once into scratch and reused on every line:
 * `before,` NUL `,after` NUL `before,after` (for _count and _sum) NUL.
 */
static int escape_around_le(struct strbuf *s, const struct expo_label *l, size_t n, size_t le_at,
			    size_t *after_off, size_t *both_off)
{
	strbuf__reset(s);
	expo__labels(s, l, le_at);
	strbuf__append(s, le_at ? "," : "", le_at ? 2 : 1);
	*after_off = s->len;
	strbuf__append(s, ",", le_at < n ? 1 : 0);
	expo__labels(s, l + le_at, n - le_at);
	strbuf__append(s, "", 1);
	*both_off = s->len;
	expo__labels(s, l, le_at);
	strbuf__append(s, ",", le_at && le_at < n ? 1 : 0);
	expo__labels(s, l + le_at, n - le_at);
	return s->err;
}

/* _bucket (cumulative), _count, _sum of one series. */
static int text_histogram(void *ctx, const struct render_family *f, const struct expo_label *l,
			  size_t n, size_t le_at, const struct render_hist *h)
{
	struct text_sink *ts = ctx;
	struct strbuf *sb = ts->out, *s = &ts->scratch;
	uint64_t cum = 0, count = bucket_total(h);
	char le[EXPO_NUMBER_MAX + 8], num[EXPO_NUMBER_MAX];
	size_t i, after_off, both_off;

	if (escape_around_le(s, l, n, le_at, &after_off, &both_off))
		return sb->err = s->err;
	for (i = 0; i <= h->nbounds; i++) {
		cum = snap_add(cum, i < h->nbounds ? h->buckets[i] : 0);
		strcpy(le, "le=\"");
		if (i < h->nbounds)
			expo__format_double(le + 4, EXPO_NUMBER_MAX, h->bounds[i]);
		else
			strcpy(le + 4, "+Inf");
		strcat(le, "\"");
		expo__format_u64(num, sizeof(num), i < h->nbounds ? cum : count);
		expo__sample_text(sb, f->ns, f->name, "_bucket", s->buf, le, s->buf + after_off,
				  num);
	}
	expo__format_u64(num, sizeof(num), count);
	expo__sample_text(sb, f->ns, f->name, "_count", s->buf + both_off, "", "", num);
	expo__format_double(num, sizeof(num), (double)h->sum_ns / 1e9);
	return expo__sample_text(sb, f->ns, f->name, "_sum", s->buf + both_off, "", "", num);
}

const struct render_sink_ops text_sink_ops = {
	.family = text_family,
	.sample = text_sample,
	.histogram = text_histogram,
};

struct render_sink text_sink__init(struct text_sink *ts, struct strbuf *out)
{
	*ts = (struct text_sink){.out = out};
	return (struct render_sink){.ops = &text_sink_ops, .ctx = ts};
}

void text_sink__free(struct text_sink *ts)
{
	strbuf__free(&ts->scratch);
}

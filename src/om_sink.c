// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include "expo_om.h"
#include "om_sink.h"

static int om_family(void *ctx, const struct render_family *f)
{
	static const char *const types[] = {
		[FAMILY_COUNTER] = "counter",
		[FAMILY_GAUGE] = "gauge",
		[FAMILY_HISTOGRAM] = "histogram",
	};
	struct om_sink *s = ctx;

	return expo_om__family(s->text.out, f->ns, f->name, f->help, types[f->type]);
}

/* <family>_created{labels} <seconds>: family is the sample's name without a counter's _total. */
static int om_created(struct om_sink *s, const struct render_family *f, const char *family,
		      const struct expo_label *l, size_t n, uint64_t created_ns)
{
	char num[EXPO_NUMBER_MAX];

	expo_om__format_created(num, sizeof(num), created_ns);
	return expo__sample(s->text.out, f->ns, family, "_created", l, n, num);
}

static int om_sample(void *ctx, const struct render_family *f, const struct expo_label *l, size_t n,
		     struct render_value v)
{
	struct om_sink *s = ctx;
	int err = text_sink_ops.sample(&s->text, f, l, n, v);
	size_t len;

	/* A counter not named _total is sent as unknown (expo_om.h): no _created then. */
	if (err || !s->created || !v.created_ns || f->type != FAMILY_COUNTER ||
	    !expo_om__counter_family(f->name, &len))
		return err;
	strbuf__reset(&s->family);
	if (strbuf__append(&s->family, f->name, len))
		return s->text.out->err = s->family.err;
	return om_created(s, f, s->family.buf, l, n, v.created_ns);
}

static int om_histogram(void *ctx, const struct render_family *f, const struct expo_label *l,
			size_t n, size_t le_at, const struct render_hist *h)
{
	struct om_sink *s = ctx;
	int err = text_sink_ops.histogram(&s->text, f, l, n, le_at, h);

	if (err || !s->created || !h->created_ns)
		return err;
	return om_created(s, f, f->name, l, n, h->created_ns);
}

static const struct render_sink_ops om_ops = {
	.family = om_family,
	.sample = om_sample,
	.histogram = om_histogram,
};

struct render_sink om_sink__init(struct om_sink *s, struct strbuf *out, bool created)
{
	text_sink__init(&s->text, out);
	s->created = created;
	s->family = (struct strbuf)STRBUF_INIT;
	return (struct render_sink){.ops = &om_ops, .ctx = s};
}

int om_sink__finish(struct om_sink *s)
{
	return expo_om__eof(s->text.out);
}

void om_sink__free(struct om_sink *s)
{
	text_sink__free(&s->text);
	strbuf__free(&s->family);
}

// SPDX-License-Identifier: BSD-2-Clause
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

static int om_sample(void *ctx, const struct render_family *f, const struct expo_label *l, size_t n,
		     struct render_value v)
{
	return text_sink_ops.sample(&((struct om_sink *)ctx)->text, f, l, n, v);
}

static int om_histogram(void *ctx, const struct render_family *f, const struct expo_label *l,
			size_t n, size_t le_at, const struct render_hist *h)
{
	return text_sink_ops.histogram(&((struct om_sink *)ctx)->text, f, l, n, le_at, h);
}

static const struct render_sink_ops om_ops = {
	.family = om_family,
	.sample = om_sample,
	.histogram = om_histogram,
};

struct render_sink om_sink__init(struct om_sink *s, struct strbuf *out)
{
	text_sink__init(&s->text, out);
	return (struct render_sink){.ops = &om_ops, .ctx = s};
}

int om_sink__finish(struct om_sink *s)
{
	return expo_om__eof(s->text.out);
}

void om_sink__free(struct om_sink *s)
{
	text_sink__free(&s->text);
}

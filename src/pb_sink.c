// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include "pb_sink.h"

static int pb_family(void *ctx, const struct render_family *f)
{
	static const enum expo_pb_type types[] = {
		[FAMILY_COUNTER] = EXPO_PB_COUNTER,
		[FAMILY_GAUGE] = EXPO_PB_GAUGE,
		[FAMILY_HISTOGRAM] = EXPO_PB_HISTOGRAM,
	};
	struct pb_sink *s = ctx;

	return expo_pb__family(s->pb, f->ns, f->name, f->help, types[f->type]);
}

static int pb_sample(void *ctx, const struct render_family *f, const struct expo_label *l, size_t n,
		     struct render_value v)
{
	struct pb_sink *s = ctx;
	int err = expo_pb__sample(s->pb, l, n, v.is_u64 ? (double)v.u : v.d);

	if (err || !v.created_ns || f->type != FAMILY_COUNTER)
		return err;
	return expo_pb__created(s->pb, v.created_ns);
}

static int pb_histogram(void *ctx, const struct render_family *f, const struct expo_label *l,
			size_t n, size_t le_at, const struct render_hist *h)
{
	struct pb_sink *s = ctx;
	const struct nhist_out *native = NULL;
	int err;

	(void)f;
	(void)le_at;
	if (h->nh && s->params) {
		nhist__export(h->nh, s->params, s->native);
		native = s->native;
	}
	err = expo_pb__histogram(s->pb, l, n, h->bounds, h->nbounds, h->buckets,
				 (double)h->sum_ns / 1e9, native);
	return err || !h->created_ns ? err : expo_pb__created(s->pb, h->created_ns);
}

static const struct render_sink_ops pb_ops = {
	.family = pb_family,
	.sample = pb_sample,
	.histogram = pb_histogram,
};

int pb_sink__init(struct pb_sink *s, struct strbuf *out, const struct nhist_params *params,
		  struct render_sink *sink)
{
	*s = (struct pb_sink){.params = params};
	s->pb = expo_pb__new(out);
	s->native = params ? malloc(sizeof(*s->native)) : NULL;
	if (!s->pb || (params && !s->native))
		return -ENOMEM;
	*sink = (struct render_sink){.ops = &pb_ops, .ctx = s, .native = params != NULL};
	return 0;
}

int pb_sink__finish(struct pb_sink *s)
{
	return expo_pb__finish(s->pb);
}

void pb_sink__free(struct pb_sink *s)
{
	expo_pb__free(s->pb);
	free(s->native);
	*s = (struct pb_sink){0};
}

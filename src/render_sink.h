/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * render_sink: where the renderer's families and series go, so that one walk of the family
 * table serves every exposition format. The renderer calls family() once per family, then
 * sample() or histogram() once per series, in output order; a sink encodes as it goes.
 * Every call returns the sink's sticky error (0 or negative): once set, a sink writes
 * nothing more and the renderer stops at the next family.
 */
#ifndef CCPROXY_RENDER_SINK_H
#define CCPROXY_RENDER_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "expo.h"
#include "family.h"

/* A family header as the sink sees it. */
struct render_family {
	const char *ns; /* NULL or "": no prefix */
	const char *name;
	const char *help;
	enum family_type type;
};

/*
 * A sample's value: exact u64 counts stay exact in every format that can carry them. A
 * counter's created_ns says when its series was first counted, in ns since the epoch; 0 is
 * unknown (and always so for gauges): the formats that carry it send none then.
 */
struct render_value {
	bool is_u64;
	uint64_t u;
	double d;
	uint64_t created_ns;
};

/* A classic histogram series: non-cumulative buckets, slot nbounds is (last bound, +Inf). */
struct render_hist {
	const double *bounds; /* seconds */
	size_t nbounds;
	const uint64_t *buckets; /* nbounds + 1 */
	uint64_t sum_ns;
	const struct nhist_counts *nh; /* the same series' native buckets; NULL: none */
	uint64_t created_ns;		/* as in render_value */
};

struct render_sink_ops {
	int (*family)(void *ctx, const struct render_family *f);
	/* labels: sorted by name, values raw (escaped by the sink). */
	int (*sample)(void *ctx, const struct render_family *f, const struct expo_label *labels,
		      size_t n, struct render_value v);
	/* labels exclude le; le_at: where le goes among them in text formats. */
	int (*histogram)(void *ctx, const struct render_family *f, const struct expo_label *labels,
			 size_t n, size_t le_at, const struct render_hist *h);
};

struct render_sink {
	const struct render_sink_ops *ops;
	void *ctx;
	bool native; /* it sends native buckets: only then are they read from the maps */
};

/* The text format 0.0.4 sink (text_sink.c). scratch: reused between histogram series. */
struct text_sink {
	struct strbuf *out;
	struct strbuf scratch;
};

/* A sink that appends text 0.0.4 to out; text_sink__free releases its scratch. */
struct render_sink text_sink__init(struct text_sink *ts, struct strbuf *out);
void text_sink__free(struct text_sink *ts);
/* Its operations, which the OpenMetrics sink reuses for the sample lines. */
extern const struct render_sink_ops text_sink_ops;

#endif /* CCPROXY_RENDER_SINK_H */

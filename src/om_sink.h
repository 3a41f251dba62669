/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * om_sink: the OpenMetrics 1.0 text sink. Family metadata as expo_om writes it, sample and
 * histogram lines as the text 0.0.4 sink writes them (the same series for Prometheus), and
 * "# EOF" from om_sink__finish.
 *
 * _created samples (when a counter's or histogram's series was first counted) only when
 * asked for (--web.openmetrics-created-samples), as client_golang sends them only with
 * EnableOpenMetricsTextCreatedSamples: Prometheus 2.42 stores each as a series of its own
 * (<name>_created), which text 0.0.4 never had. Each follows its series' _total, or its
 * _count and _sum, as OpenMetrics 1.0 orders them; a series whose time is unknown has none.
 */
#ifndef CCPROXY_OM_SINK_H
#define CCPROXY_OM_SINK_H

#include <stdbool.h>
#include "render_sink.h"

struct om_sink {
	struct text_sink text;
	bool created;	      /* send _created samples */
	struct strbuf family; /* scratch: a counter's family name */
};

/* A sink that appends OpenMetrics to out; finish it, then free it. */
struct render_sink om_sink__init(struct om_sink *s, struct strbuf *out, bool created);
/* The end marker. Returns out's sticky error. */
int om_sink__finish(struct om_sink *s);
void om_sink__free(struct om_sink *s);

#endif /* CCPROXY_OM_SINK_H */

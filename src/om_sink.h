/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * om_sink: the OpenMetrics 1.0 text sink. Family metadata as expo_om writes it, sample and
 * histogram lines as the text 0.0.4 sink writes them (the same series for Prometheus), and
 * "# EOF" from om_sink__finish. No _created samples: Prometheus 2.42 stores each as a series
 * of its own (name_created), which text 0.0.4 never had.
 */
#ifndef CCPROXY_OM_SINK_H
#define CCPROXY_OM_SINK_H

#include "render_sink.h"

struct om_sink {
	struct text_sink text;
};

/* A sink that appends OpenMetrics to out; finish it, then free it. */
struct render_sink om_sink__init(struct om_sink *s, struct strbuf *out);
/* The end marker. Returns out's sticky error. */
int om_sink__finish(struct om_sink *s);
void om_sink__free(struct om_sink *s);

#endif /* CCPROXY_OM_SINK_H */

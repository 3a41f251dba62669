/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pb_sink: the protobuf sink (expo_pb). Histograms carry their classic buckets and, when the
 * renderer passes them and params is set, their native buckets (nhist__export), as
 * client_golang does for a histogram that has both. Counters and histograms carry their
 * created_timestamp whenever it is known, as client_golang always sends it (Prometheus 2.42
 * stores no series for it).
 */
#ifndef CCPROXY_PB_SINK_H
#define CCPROXY_PB_SINK_H

#include "expo_pb.h"
#include "nhist.h"
#include "render_sink.h"

struct pb_sink {
	struct expo_pb *pb;
	const struct nhist_params *params; /* borrowed; NULL: no native buckets */
	struct nhist_out *native;	   /* scratch for one series */
};

/* 0 with *sink set, or -ENOMEM. Finish it, then free it (free also after a failed init). */
int pb_sink__init(struct pb_sink *s, struct strbuf *out, const struct nhist_params *params,
		  struct render_sink *sink);
/* Writes the last family. Returns the sink's first error, or 0. */
int pb_sink__finish(struct pb_sink *s);
void pb_sink__free(struct pb_sink *s);

#endif /* CCPROXY_PB_SINK_H */

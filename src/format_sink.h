/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * format_sink: the sink of a negotiated format (negotiate.h), opened and closed as one.
 * Text 0.0.4 is today's output byte for byte; OpenMetrics 1.0.0 and 0.0.1 are the same body
 * (client_golang sends 1.0.0's body for both); protobuf carries native histograms when
 * params are given.
 */
#ifndef CCPROXY_FORMAT_SINK_H
#define CCPROXY_FORMAT_SINK_H

#include <stdbool.h>
#include "negotiate.h"
#include "nhist.h"
#include "om_sink.h"
#include "pb_sink.h"
#include "render_sink.h"

struct format_sink {
	enum negotiate_format fmt;
	struct text_sink text;
	struct om_sink om;
	struct pb_sink pb;
	struct render_sink sink; /* render into this */
};

/*
 * 0, or -ENOMEM (close it all the same). om_created: OpenMetrics carries _created samples
 * (om_sink.h); protobuf always carries the created timestamps, text 0.0.4 never.
 */
int format_sink__open(struct format_sink *fs, enum negotiate_format fmt, struct strbuf *out,
		      const struct nhist_params *params, bool om_created);
/* Writes what ends the format (unless err is set) and frees. Returns err, or the sink's. */
int format_sink__close(struct format_sink *fs, int err);

#endif /* CCPROXY_FORMAT_SINK_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * render: a snapshot as the ccproxy metric families (same names, HELP, types, labels and `le`
 * spellings as the Python plugin), followed by the exporter's own ccproxy_exporter_* families.
 * Pure: no I/O, no clock; the caller passes what it measured.
 */
#ifndef CCPROXY_RENDER_H
#define CCPROXY_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "family.h"
#include "render_sink.h"
#include "snapshot.h"
#include "strbuf.h"

/* Label value of every string label of a family's overflow series. */
#define RENDER_OVERFLOW_LABEL SNAP_OVERFLOW_LABEL

struct render_opts {
	const char *namespace_; /* "" for no prefix */
	/* The configurable bounds, and whether the latency, stream and provider-status families
	 * are shown (after the others; off: not at all). */
	struct family_opts families;
	bool per_process; /* pid and container_id labels on the request, usage, error families */
	bool native;	  /* histograms carry their native buckets (render_hist.nh) */
	/* Counters and histograms carry when their series was first counted (created_ns):
	 * the maps hold it in CLOCK_MONOTONIC time; adding wall_minus_mono_ns, CLOCK_REALTIME
	 * minus CLOCK_MONOTONIC as the caller measured it, makes it wall-clock time. */
	bool created;
	int64_t wall_minus_mono_ns;
};

/* The ccproxy families, as the family table declares them, into sink. 0 or a negative errno. */
int render__families_to(const struct snapshot *snap, const struct render_opts *o,
			const struct render_sink *sink);
/* The ccproxy_exporter_* families; scrape_seconds: time spent on this scrape so far. */
int render__self_to(const struct snapshot *snap, double scrape_seconds,
		    const struct render_sink *sink);
/* The same, as text 0.0.4 appended to sb. Returns sb's sticky error. */
int render__families(const struct snapshot *snap, const struct render_opts *o, struct strbuf *sb);
int render__self(const struct snapshot *snap, double scrape_seconds, struct strbuf *sb);

#endif /* CCPROXY_RENDER_H */

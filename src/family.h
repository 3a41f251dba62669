/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * family: every ccproxy metric family, declared once.
 *
 * Two tables. A source is one BPF map as a snapshot holds it: its key's string fields, where
 * its tgid and flags are, which runs of its value are counters to sum when keys merge, where
 * its creation time is (merged rows keep the earliest, snap_earliest). A
 * family is what Prometheus sees: name suffix, HELP, type, its labels in output order and
 * where each comes from in a source's row, its value, its buckets and the collect switch it
 * obeys. The loader reads sources, the snapshot merges them and the renderer prints families
 * by these rows alone; `ccproxy_exporter --print-families json` gives the same table to the
 * scripts and tests. Adding a counter with existing labels is one family row (and the BPF
 * code that counts it).
 */
#ifndef CCPROXY_FAMILY_H
#define CCPROXY_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "snapshot.h"
#include "strbuf.h"

enum family_src {
	FAMILY_SRC_REQUESTS, /* struct snap_request rows: the requests map */
	FAMILY_SRC_USAGE,    /* struct snap_usage rows: the usage map, plus the requests' usage */
	FAMILY_SRC_ERRORS,   /* struct snap_error rows: the errors map */
	FAMILY_SRC_PROVIDER, /* struct snap_provider rows: the provider map */
	FAMILY_SRC_LATENCY,  /* struct snap_latency rows: the requests' streams and latencies */
	FAMILY_SRC_NODE,     /* one row: the struct snapshot itself (gauges, pool) */
	FAMILY_SRC_VERSIONS, /* the announced versions; one empty row when there are none */
	FAMILY_SRC_COUNT,
};

/* The sources that are BPF hash maps keyed by labels, read and merged row by row. */
#define FAMILY_MAP_SOURCES 4

struct family_field {
	size_t off, size;
};

struct family_run {
	size_t off;   /* in the row */
	size_t count; /* u64 counters from there on */
};

/* Another source whose rows also add to this one: the row's key from key_off on, its value
 * from val_off on, are laid out as this source's key and value (up to its created_ns, which
 * takes the other row's). */
struct family_fold {
	enum family_src from;
	size_t key_off, val_off;
};

struct family_source {
	const char *map; /* the BPF map's name */
	enum snap_map_id map_id;
	size_t row_size, key_size, val_off; /* a row is the key, then the value at val_off */
	size_t rows_off, count_off;	    /* in struct snapshot: the row array and its count */
	size_t tgid_off, flags_off;	    /* in the key */
	struct family_field strs[4];	    /* string fields, normalised and unified */
	size_t nstrs;
	struct family_field zero[2]; /* key bytes that are no part of the series: zeroed */
	size_t nzero;
	struct family_field overflow_zero; /* key bytes zeroed in the overflow series' rows */
	struct family_run sums[2];	   /* the value's counters */
	size_t nsums;
	size_t id_off; /* the value's native series id (ccproxy_req_val.series); 0: none */
	/* The row's u64 created_ns (ccproxy.h): merged rows keep the earliest known; the counter
	 * and histogram families of the source send it. 0: none. In a source with a fold, the
	 * row's last field. */
	size_t created;
	const struct family_fold *fold; /* NULL: none */
};

enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM };

enum family_label_from {
	FAMILY_LABEL_STR,     /* a string field of the key: fallback "unknown", overflow-aware */
	FAMILY_LABEL_STATUS,  /* a u32 HTTP status of the key; 0 is "error" */
	FAMILY_LABEL_CONST,   /* a fixed value */
	FAMILY_LABEL_VARIANT, /* the value of the family's variant being printed */
	FAMILY_LABEL_LE,      /* a histogram's bucket bound */
};

struct family_label {
	const char *name;
	enum family_label_from from;
	struct family_field field; /* STR, STATUS */
	const char *value;	   /* CONST */
};

enum family_value {
	FAMILY_VALUE_U64,  /* a counter or gauge at val */
	FAMILY_VALUE_NANO, /* a u64 of 1e-9 units at val, printed as a float */
	FAMILY_VALUE_ONE,  /* always 1 (info) */
	FAMILY_VALUE_BOOL, /* 1 if the u64 at val is not 0 (up) */
	FAMILY_VALUE_HIST, /* non-cumulative buckets at val (nbounds + 1), ns sum at sum */
};

enum family_bounds {
	FAMILY_BOUNDS_NONE,
	FAMILY_BOUNDS_RESPONSE, /* --histogram-buckets */
	FAMILY_BOUNDS_POOL,	/* the spec's fixed pool acquisition buckets */
	FAMILY_BOUNDS_LATENCY,	/* + enum ccproxy_latency: --time-to-first-token-buckets ... */
};

enum family_collect {
	FAMILY_COLLECT_ALWAYS,
	FAMILY_COLLECT_REQUEST,
	FAMILY_COLLECT_TOKEN,
	FAMILY_COLLECT_COST,
	FAMILY_COLLECT_ERROR,
	FAMILY_COLLECT_POOL,
	FAMILY_COLLECT_LATENCY, /* an extension: not shown at all when off */
};

/* One series per row and variant: a family of variants prints each variant's value in turn. */
struct family_variant {
	const char *value; /* of the FAMILY_LABEL_VARIANT label */
	size_t val;	   /* offset in the row */
};

#define FAMILY_MAX_LABELS 6

struct family {
	const char *name; /* after "<namespace>_" */
	const char *help;
	enum family_type type;
	enum family_src src;
	bool bare;  /* no namespace prefix */
	bool group; /* rows that print alike are one series: their values are summed */
	struct family_label labels[FAMILY_MAX_LABELS]; /* in output order: sorted by name */
	size_t nlabels;
	enum family_value value;
	size_t val, sum; /* offsets in the row */
	/* HIST with native buckets: the row's count of observations they lost (0: none), and
	 * which of the row's series' histograms they are. */
	size_t nh_lost;
	enum ccproxy_nh_hist nh_hist;
	const struct family_variant *variants;
	size_t nvariants;
	enum family_bounds bounds; /* FAMILY_BOUNDS_LATENCY + which, for a latency family */
	enum family_collect collect;
};

extern const struct family_source family_sources[FAMILY_SRC_COUNT];
extern const struct family families[];
extern const size_t nfamilies;

/* The spec's pool acquisition bounds, in seconds. */
extern const double family_pool_bounds[CCPROXY_POOL_BUCKETS];

/* The rows of a source in snap, and their count (NODE: snap itself; VERSIONS: never 0). */
const void *family__rows(const struct snapshot *snap, enum family_src src, size_t *n);

/* What of the table a configuration serves: the configurable bounds (seconds), the switches. */
struct family_opts {
	const double *response;
	size_t nresponse;
	const double *latency[CCPROXY_LATENCIES];
	size_t nlatency[CCPROXY_LATENCIES];
	bool serve_latency; /* the FAMILY_COLLECT_LATENCY families are served */
};

/* The bounds of family f under b (none: *n = 0). */
const double *family__bounds(const struct family *f, const struct family_opts *b, size_t *n);

/*
 * The table as JSON: the families b serves, namespace applied, the buckets as configured
 * (seconds), the probes of the ABI. For scripts and tests that must agree with the exporter.
 * Returns sb's error.
 */
int family__json(struct strbuf *sb, const char *namespace_, const struct family_opts *b);

#endif /* CCPROXY_FAMILY_H */

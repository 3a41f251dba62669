/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot: everything one scrape shows, read from the BPF maps in one pass.
 *
 * Keys are normalised as read (strings cut at the first NUL, or at size - 1, and zero-padded)
 * and entries whose keys then compare equal, or whose label values render alike, are merged,
 * so a proxy that leaves garbage after a NUL cannot split a series nor print one twice.
 * Entries are sorted by key, which makes the output stable. A snapshot owns its arrays;
 * snapshot__free releases them (NULL-safe, zeroed struct ok).
 */
#ifndef CCPROXY_SNAPSHOT_H
#define CCPROXY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "../bpf/ccproxy.h"
#include "nhist.h"

struct snap_request {
	struct ccproxy_req_key key;
	struct ccproxy_req_val val;
};

/* The rows of the usage, errors and provider maps: key, then the map's value (ccproxy.h). */
struct snap_usage {
	struct ccproxy_usage_key key;
	struct ccproxy_usage val;
	uint64_t created_ns;
};

struct snap_error {
	struct ccproxy_error_key key;
	uint64_t count;
	uint64_t created_ns;
};

struct snap_provider {
	struct ccproxy_provider_key key;
	uint64_t count;
	uint64_t created_ns;
};

/* The stream and latency families of one (model, service_type), from the requests entries. */
struct snap_latency_val {
	uint64_t stream_chunks;
	uint64_t stream_bytes;
	struct ccproxy_lat_hist lat[CCPROXY_LATENCIES];
	uint64_t series; /* the first folded entry's: its native buckets' ccproxy_nh_key.series */
};

struct snap_latency {
	struct ccproxy_usage_key key;
	struct snap_latency_val val;
	uint64_t created_ns; /* the earliest of its requests entries' */
};

enum snap_map_id {
	SNAP_MAP_REQUESTS,
	SNAP_MAP_USAGE,
	SNAP_MAP_ERRORS,
	SNAP_MAP_INFLIGHT,
	SNAP_MAP_POOL,
	SNAP_MAP_PROCS,
	SNAP_MAP_INFLIGHT_PROCS,
	SNAP_MAP_PROVIDER,
	SNAP_MAP_NATIVE,
	SNAP_MAP_COUNT,
};

struct snap_map {
	uint32_t entries;
	uint32_t capacity;
};

struct snap_prog {
	uint64_t run_cnt;
	uint64_t run_time_ns;
};

/* A live traced process, for per-process labels. */
struct snap_proc {
	uint32_t tgid;
	char container_id[65];
};

/* One native bucket's count (struct ccproxy_nh_key), by the row whose series it belongs to. */
struct snap_native {
	uint64_t series;
	uint32_t hist; /* enum ccproxy_nh_hist */
	uint32_t slot;
	uint64_t count;
};

/* A row whose series id `from` merged into the row with series id `to`. */
struct snap_alias {
	uint64_t from, to;
	uint32_t src; /* enum family_src of the rows */
	uint32_t pad;
};

struct snapshot {
	struct snap_request *requests;
	size_t nrequests;
	struct snap_usage *usage;
	size_t nusage;
	struct snap_error *errors;
	size_t nerrors;
	struct snap_provider *provider;
	size_t nprovider;
	struct snap_latency *latency; /* regrouped from requests */
	size_t nlatency;
	struct ccproxy_pool_val pool; /* summed over processes; created_ns the earliest */
	/* Native buckets, read only with native histograms on; after snapshot__resolve_native
	 * sorted by series, hist and slot, each series that of a row. */
	struct snap_native *native;
	size_t nnative;
	struct snap_alias *aliases; /* recorded by snapshot__merge_rows */
	size_t naliases, aliases_cap;

	/* Live attached processes only. */
	uint64_t active_requests;
	uint64_t clients_total;
	uint64_t clients_available;
	uint64_t clients_active;
	char (*versions)[CCPROXY_VERSION_MAX]; /* distinct, sorted */
	size_t nversions;
	size_t attached;	 /* live attached processes */
	size_t objects;		 /* files whose probes are attached (shared by their processes) */
	struct snap_proc *procs; /* sorted by tgid; filled for per-process labels only */
	size_t nprocs;

	struct ccproxy_stats stats; /* summed over CPUs */
	struct snap_map maps[SNAP_MAP_COUNT];
	struct snap_prog progs[CCPROXY_PROBE_COUNT];
	bool prog_stats; /* kernel.bpf_stats_enabled was on */
};

extern const char *const snap_map_names[SNAP_MAP_COUNT];

/* Sums saturate at UINT64_MAX, as the BPF side's do: a counter never goes down. */
static inline uint64_t snap_add(uint64_t a, uint64_t b)
{
	uint64_t sum;

	return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

/* A row's u64 at off: rows are packed byte arrays (family.h gives the offsets). */
static inline uint64_t snap_get_u64(const char *row, size_t off)
{
	uint64_t v;

	memcpy(&v, row + off, sizeof(v));
	return v;
}

static inline void snap_put_u64(char *row, size_t off, uint64_t v)
{
	memcpy(row + off, &v, sizeof(v));
}

/* Two rows' created_ns merged: the earlier, 0 (unknown) only if both are. */
static inline uint64_t snap_earliest(uint64_t a, uint64_t b)
{
	return !a || (b && b < a) ? b : a;
}

void snapshot__free(struct snapshot *snap);

/* Cuts each string field of a key at its first NUL (or at size - 1) and zero-pads it. */
void snapshot__normalize_str(char *s, size_t size);
/* What an empty label value renders as. */
#define SNAP_EMPTY_LABEL "unknown"
/* What every string label of an overflow series (CCPROXY_KEY_OVERFLOW) renders as. */
#define SNAP_OVERFLOW_LABEL "__overflow__"

struct family_source;

/*
 * Normalises, sorts and merges a source's rows in place (family.h says which fields are
 * labels and which are counters); updates the count. Rows whose label values render alike
 * (an empty value and "unknown"; invalid UTF-8 sequences that all become U+FFFD) merge too:
 * each such value takes the smallest raw value that renders as it does. A key whose every
 * string label is SNAP_OVERFLOW_LABEL joins the overflow series. 0, or -ENOMEM with only the
 * first kind of merge done.
 */
int snapshot__merge(const struct family_source *src, void *rows, size_t *n);
/*
 * snapshot__merge on the rows of src in snap; a row that merges into another records its
 * series id's alias (family_source.id_off), so that its native buckets follow it.
 */
int snapshot__merge_rows(struct snapshot *snap, const struct family_source *src);
int snapshot__merge_requests(struct snap_request *v, size_t *n);
int snapshot__merge_usage(struct snap_usage *v, size_t *n);
int snapshot__merge_errors(struct snap_error *v, size_t *n);
int snapshot__merge_provider(struct snap_provider *v, size_t *n);
int snapshot__merge_latency(struct snap_latency *v, size_t *n);
/*
 * Adds the rows of the source that folds into dst (family_source.fold) to dst's rows, those
 * whose folded value is not zero; then merges. 0 or -ENOMEM (dst unchanged).
 */
int snapshot__fold(struct snapshot *snap, const struct family_source *dst);
/* The tokens and cost that completions counted in the requests rows, into usage rows. */
int snapshot__fold_request_usage(struct snapshot *snap);
/*
 * Regroups the stream counts and latency histograms that completions counted in the requests
 * entries by (model, service_type, process) into snap->latency. 0 or -ENOMEM.
 */
int snapshot__fold_request_latency(struct snapshot *snap);
/*
 * Gives every native bucket the series id of the row it now belongs to (the requests row its
 * entry merged into; for latency buckets, then the latency row that row folded into), sorts
 * them and sums those that then coincide. Call after every merge and fold.
 */
void snapshot__resolve_native(struct snapshot *snap);
/* Adds the native buckets of (series, hist) to h, slot by slot (bpf/ccproxy_nhist.h). */
void snapshot__add_native(const struct snapshot *snap, uint64_t series, uint32_t hist,
			  struct nhist_counts *h);
/* Adds a process (any order). 0 or -ENOMEM. */
int snapshot__add_proc(struct snapshot *snap, uint32_t tgid, const char *container_id);
/* The process tgid, or NULL. */
const struct snap_proc *snapshot__proc(const struct snapshot *snap, uint32_t tgid);
/* Adds a version unless one that renders alike is listed; keeps the list sorted. 0 or -ENOMEM. */
int snapshot__add_version(struct snapshot *snap, const char *version);

#endif /* CCPROXY_SNAPSHOT_H */

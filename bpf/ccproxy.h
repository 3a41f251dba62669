/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map keys, values and limits shared by bpf/ccproxy.bpf.c and the exporter.
 *
 * Fixed-width fields with explicit padding only: a key is hashed byte for byte, so both sides
 * zero every key before filling it. Counters are u64 and only ever grow: sums saturate at
 * U64_MAX, on both sides; userspace sums keys (and CPUs) at scrape time. Strings are copied
 * from the probe's event as the proxy wrote them; userspace cuts them at the first NUL and
 * merges keys that then compare equal.
 *
 * Every counter map's value holds a created_ns: when its entry was made, in bpf_ktime_get_ns()
 * time (CLOCK_MONOTONIC), written once by the program whose insert made the entry (by the
 * exporter for the overflow keys it makes at load). It is the series' OpenMetrics _created and
 * protobuf created_timestamp, kept in the map so that pinned maps keep it across exporter
 * restarts. 0 is unknown: a reader may see an entry between its insert and the write of its
 * time, which is then left out rather than guessed.
 */
#ifndef CCPROXY_BPF_H
#define CCPROXY_BPF_H

#include "../include/ccproxy/probes.h"
#include "ccproxy_nhist.h"

/* Finite `le` bounds of the response-time histogram; one more slot holds +Inf. */
#define CCPROXY_MAX_BUCKETS 32
/* Fixed pool acquisition buckets (spec): 0.001 ... 5 s. */
#define CCPROXY_POOL_BUCKETS 10
/* Finite `le` bounds of each latency histogram (TTFT, provider, overhead, per token). */
#define CCPROXY_LATENCY_BUCKETS 24

/*
 * What the maps' values look like. Pinned maps (--bpf-pin-path) written by an exporter with
 * another layout are refused (struct ccproxy_meta): a value of the same size could still
 * mean something else. Bump on every change to a map's key or value.
 */
#define CCPROXY_MAPS_LAYOUT 2

/* Keys with this flag hold what no longer fit the family's map: the overflow series. */
#define CCPROXY_KEY_OVERFLOW 1u

/* Default map capacities; userspace resizes before load. */
#define CCPROXY_REQUESTS_ENTRIES 4096
#define CCPROXY_USAGE_ENTRIES	 1024
#define CCPROXY_ERRORS_ENTRIES	 2048
#define CCPROXY_INFLIGHT_ENTRIES 16384
#define CCPROXY_PROCS_ENTRIES	 1024
#define CCPROXY_PROVIDER_ENTRIES 1024
#define CCPROXY_NATIVE_ENTRIES	 65536

/* Why an event, or part of it, was not recorded as sent. Exported as a self-metric. */
enum ccproxy_drop {
	CCPROXY_DROP_READ_FAULT,       /* the event pointer could not be read */
	CCPROXY_DROP_BAD_ABI,	       /* wrong abi number or a struct smaller than version 1 */
	CCPROXY_DROP_INVALID,	       /* a value above its CCPROXY_*_MAX: part not recorded */
	CCPROXY_DROP_INFLIGHT_FULL,    /* request_start not tracked: no pairing, not active */
	CCPROXY_DROP_UNPAIRED,	       /* completion with no duration and no matching start */
	CCPROXY_DROP_FOLDED,	       /* recorded under the overflow series of a full map */
	CCPROXY_DROP_MAP_FULL,	       /* lost: map full and no overflow series to fold into */
	CCPROXY_DROP_SATURATED,	       /* a sum clipped at U64_MAX rather than wrapped */
	CCPROXY_DROP_INFLIGHT_PROCESS, /* request_start not tracked: its process holds its share */
	CCPROXY_DROP_NATIVE_FULL, /* a native bucket not stored: the series goes classic only */
	CCPROXY_DROP_COUNT,
};

/*
 * requests_total and response_duration_seconds share a key: one update per completion.
 * Its tail, from labels.model on, is laid out as a struct ccproxy_usage_key, so the BPF side
 * counts a completion's usage under a key it already holds.
 */
struct ccproxy_req_key {
	uint32_t status; /* HTTP status; 0 renders as status="error" */
	uint32_t pad;
	struct ccproxy_labels labels;
	uint32_t tgid;	/* 0 unless per-process labels are on */
	uint32_t flags; /* CCPROXY_KEY_* */
};

/* Where a requests entry's completions put their usage. */
enum ccproxy_usage_to {
	CCPROXY_USAGE_UNDECIDED, /* no usage seen yet */
	CCPROXY_USAGE_HERE,	 /* in the entry: its usage key holds a place in the usage map */
	CCPROXY_USAGE_VIA_MAP,	 /* in the usage map: it was full, or this is the overflow entry */
};

/* The latency histograms a request contributes to (collect_latency). */
enum ccproxy_latency {
	CCPROXY_LAT_TTFT,     /* request_start to the first provider_stream_chunk */
	CCPROXY_LAT_PROVIDER, /* provider_request_sent to the provider's last byte */
	CCPROXY_LAT_OVERHEAD, /* the request's duration minus the provider's */
	CCPROXY_LAT_TPOT,     /* (stream end - first chunk) / (output tokens - 1) */
	CCPROXY_LATENCIES,
};

struct ccproxy_lat_hist {
	uint64_t sum_ns;
	/* Non-cumulative, as in ccproxy_req_val; slot nbuckets is +Inf. */
	uint64_t buckets[CCPROXY_LATENCY_BUCKETS + 1];
	uint64_t nh_lost; /* observations whose native bucket found no room (ccproxy_nh_key) */
};

struct ccproxy_req_val {
	uint64_t requests;
	uint64_t created_ns; /* when the entry was made (above) */
	uint32_t usage_to;   /* enum ccproxy_usage_to */
	uint32_t pad;
	/* The completions' tokens and cost: counting them here saves request_complete a second
	 * map update; userspace adds them to the usage family by (model, service_type). The
	 * usage map still gets an entry (zero) per usage key, so --limits.usage bounds them. */
	struct ccproxy_usage usage;
	uint64_t dur_sum_ns;
	/* Non-cumulative; slot nbuckets is (last bound, +Inf). The count is their sum, so a
	 * reader never sees a count that disagrees with the buckets. */
	uint64_t buckets[CCPROXY_MAX_BUCKETS + 1];
	uint64_t nh_lost; /* durations whose native bucket found no room (ccproxy_nh_key) */
	/* Streams and latencies of the completions, counted here for the same reason as usage:
	 * request_complete then needs no map update beyond the one it already does. Userspace
	 * regroups them by (model, service_type). */
	uint64_t stream_chunks;
	uint64_t stream_bytes;
	struct ccproxy_lat_hist lat[CCPROXY_LATENCIES];
	/* This entry's native buckets (ccproxy_nh_key.series): unique, given by the first
	 * observation that needs one; 0: none yet. Never summed: userspace keeps the id of the
	 * row that others merge into, and maps theirs to it. */
	uint64_t series;
};

/* The usage map's value: tokens and cost, and when the entry was made. */
struct ccproxy_usage_val {
	struct ccproxy_usage usage;
	uint64_t created_ns; /* when the entry was made (above) */
};

/* The value of a map that holds one counter per key (errors, provider). */
struct ccproxy_count_val {
	uint64_t count;
	uint64_t created_ns; /* when the entry was made (above) */
};

/* tokens_total and cost_usd_total: by (model, service_type). */
struct ccproxy_usage_key {
	char model[CCPROXY_MODEL_MAX];
	char service_type[CCPROXY_SERVICE_TYPE_MAX];
	uint32_t tgid;
	uint32_t flags;
};

_Static_assert(sizeof(struct ccproxy_req_key) -
			       __builtin_offsetof(struct ccproxy_req_key, labels.model) ==
		       sizeof(struct ccproxy_usage_key),
	       "the tail of ccproxy_req_key must be a ccproxy_usage_key");

/* provider_responses_total: a usage key and the provider's HTTP status. */
struct ccproxy_provider_key {
	struct ccproxy_usage_key uk;
	uint32_t status;
	uint32_t pad;
};

/* errors_total: labels.method is always zero. */
struct ccproxy_error_key {
	struct ccproxy_labels labels;
	char error_type[CCPROXY_ERROR_TYPE_MAX];
	uint32_t tgid;
	uint32_t flags;
};

/*
 * Requests between request_start and their completion, per process. Each process may hold at
 * most its share of the map (a count per tgid in inflight_procs), so that one process that
 * never completes its requests cannot take every other process's durations.
 */
struct ccproxy_inflight_key {
	uint32_t tgid;
	uint32_t pad;
	uint64_t request_id;
};

/*
 * What the probes of one request saw between its start and its end, in bpf_ktime_get_ns()
 * time; 0: not seen. Written through the map value pointer by the provider probes.
 */
struct ccproxy_inflight_val {
	uint64_t start_ns;
	uint64_t sent_ns;	 /* first provider_request_sent */
	uint64_t received_ns;	 /* last provider_response_received */
	uint64_t first_chunk_ns; /* earliest provider_stream_chunk */
	uint64_t end_ns;	 /* provider_stream_end */
	uint64_t chunks;
	uint64_t bytes;
	uint64_t output_tokens; /* provider_stream_end's usage */
	uint32_t streamed;	/* any provider_stream_* seen */
	uint32_t pad;
};

enum ccproxy_pool_counter {
	CCPROXY_POOL_ACQUISITIONS,
	CCPROXY_POOL_RELEASES,
	CCPROXY_POOL_CREATED,
	CCPROXY_POOL_CLOSED,
	CCPROXY_POOL_HEALTH_FAILURES,
	CCPROXY_POOL_COUNTERS,
};

/* Pool counters and acquisition histogram, keyed by tgid (0 unless per-process labels). */
struct ccproxy_pool_val {
	uint64_t counters[CCPROXY_POOL_COUNTERS];
	uint64_t created_ns; /* when the entry was made (above) */
	uint64_t wait_sum_ns;
	uint64_t buckets[CCPROXY_POOL_BUCKETS + 1];
	uint64_t nh_lost; /* waits whose native bucket found no room (ccproxy_nh_key) */
};

/* The histograms that have native buckets. */
enum ccproxy_nh_hist {
	CCPROXY_NH_RESPONSE, /* response_duration_seconds: a requests entry's */
	CCPROXY_NH_POOL,     /* pool_acquisition_duration_seconds: series 0, tgid 0 */
	CCPROXY_NH_LATENCY,  /* + enum ccproxy_latency: a requests entry's latency histograms */
	CCPROXY_NH_HISTS = CCPROXY_NH_LATENCY + CCPROXY_LATENCIES,
};

/*
 * One native bucket of one histogram series (bpf/ccproxy_nhist.h says which slot holds
 * which durations): the value is its count. Sparse: an entry exists once its bucket has a
 * count, so a series costs what its durations spread over, not every bucket it could use.
 * When the map is full an observation that needs a new entry counts in its series' nh_lost
 * instead, and the exporter sends that series with its classic buckets only.
 */
struct ccproxy_nh_key {
	uint64_t series; /* ccproxy_req_val.series; 0 for the pool */
	uint32_t tgid;	 /* the series' key's tgid: collected with it */
	uint16_t hist;	 /* enum ccproxy_nh_hist */
	uint16_t slot;	 /* CCPROXY_NH_SLOT_* */
};

#define CCPROXY_PROC_HAS_GAUGES	 1u
#define CCPROXY_PROC_HAS_VERSION 2u

/* Per-process state that dies with the process: pool gauges and the announced version. */
struct ccproxy_proc_val {
	uint32_t flags; /* CCPROXY_PROC_* */
	uint32_t clients_total;
	uint32_t clients_available;
	uint32_t clients_active;
	char version[CCPROXY_VERSION_MAX];
};

/*
 * What the maps' contents mean, kept beside them: pinned maps reused by a later exporter must
 * have been written with the same buckets and keys. Written by userspace only.
 */
struct ccproxy_meta {
	uint32_t abi; /* CCPROXY_ABI_VERSION; 0: never written */
	uint32_t nbuckets;
	uint32_t per_process;
	uint32_t layout; /* CCPROXY_MAPS_LAYOUT; 0 (once a pad): layout 1 */
	uint64_t bucket_ns[CCPROXY_MAX_BUCKETS];
	uint32_t collect_latency;
	uint32_t lat_nbuckets[CCPROXY_LATENCIES];
	uint32_t pad2;
	uint64_t lat_bucket_ns[CCPROXY_LATENCIES][CCPROXY_LATENCY_BUCKETS];
	int32_t nh_schema; /* -1: no native histograms */
	int32_t nh_kmin;
};

/* Per-CPU: one slot, summed by userspace. */
struct ccproxy_stats {
	uint64_t hits[CCPROXY_PROBE_COUNT];
	uint64_t drops[CCPROXY_DROP_COUNT];
};

#endif /* CCPROXY_BPF_H */

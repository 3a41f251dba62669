/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the exporter must count for the events a loadgen thread fired, kept as dense arrays
 * indexed by the label tables of mix.h. Each thread owns one tally and merges it into the
 * main thread's at the end, so the hot path touches no shared memory.
 */
#ifndef LOADGEN_TALLY_H
#define LOADGEN_TALLY_H

#include <stdint.h>
#include <ccproxy/probes.h>

#include "mix.h"

#define LG_RESP_BUCKETS 10 /* default response-time bounds; one more slot is +Inf */
#define LG_POOL_BUCKETS 10 /* fixed pool acquisition bounds; one more slot is +Inf */
#define LG_LAT_BUCKETS	22 /* default latency bounds 0.001 ... 2560; one more slot is +Inf */
#define LG_MAX_BUCKETS	22

/* Stream scenarios fired, reported in the truth file so tests can see each one was. */
enum lg_case {
	LG_CASE_STREAM_FULL,	 /* chunks, stream end, completion */
	LG_CASE_STREAM_NO_CHUNK, /* no chunk before the stream end */
	LG_CASE_STREAM_NO_END,	 /* completion without a stream end */
	LG_CASE_STREAM_FAILED,	 /* request_fail after some chunks */
	LG_CASE_STREAM_SHARED,	 /* chunks fired by several threads at once */
	LG_CASE_RATE_LIMITED,	 /* a 429 or 529 from the provider, then sent again */
	LG_CASES,
};

/* The exporter's latency histograms (its enum ccproxy_latency, in the same order). */
enum lg_latency {
	LG_LAT_TTFT,	 /* request_start to the first provider_stream_chunk */
	LG_LAT_PROVIDER, /* first provider_request_sent to the last response or the stream end */
	LG_LAT_OVERHEAD, /* the request's duration minus the provider's, 0 at least */
	LG_LAT_TPOT,	 /* (stream end - first chunk) / (output tokens - 1) */
	LG_LATENCIES,
};

enum lg_err_kind {
	LG_ERR_REQUEST,	 /* request_fail: empty endpoint renders as "unknown" */
	LG_ERR_PROVIDER, /* provider_error: empty endpoint renders as "/" */
	LG_ERR_KINDS,
};

/*
 * A histogram series whose observations are either exact or kernel-measured. lo[i]/hi[i]
 * count observations that certainly/possibly fall in bucket i (non-cumulative): an exact
 * observation lands in the same slot of both, a measured one by its outer/inner interval.
 */
struct lg_hist {
	uint64_t lo[LG_MAX_BUCKETS + 1];
	uint64_t hi[LG_MAX_BUCKETS + 1];
	uint64_t count;
	uint64_t sum_lo_ns;
	uint64_t sum_hi_ns;
};

/*
 * Every exact duration observed, for the truth file's true quantiles (native histograms are
 * checked against them). Measured durations are not kept: only their bounds are known.
 */
struct lg_duration {
	uint8_t pool; /* 1: a pool wait, 0: a response time with the labels below */
	uint8_t endpoint, model, service;
	uint32_t pad;
	uint64_t ns, n;
};

struct lg_durations {
	struct lg_duration *v;
	size_t n, cap;
	int err; /* -ENOMEM once an append failed */
};

struct lg_tally {
	uint64_t hits[CCPROXY_PROBE_COUNT];
	uint64_t invalid; /* events with a value above a CCPROXY_*_MAX limit (one per event) */
	int64_t active;	  /* request_start minus the completions that matched one */
	uint64_t requests[LG_ENDPOINTS][LG_METHODS][LG_MODELS][LG_SERVICES][LG_STATUSES];
	struct lg_hist dur[LG_ENDPOINTS][LG_MODELS][LG_SERVICES];
	uint64_t tokens[LG_MODELS][LG_SERVICES][CCPROXY_TOKEN_TYPES];
	uint64_t cost_nusd[LG_MODELS][LG_SERVICES];
	uint64_t errors[LG_ERR_KINDS][LG_ENDPOINTS][LG_ERROR_TYPES][LG_MODELS][LG_SERVICES];
	uint64_t pool[CCPROXY_PROBE_COUNT]; /* pool counters, indexed by probe id */
	struct lg_hist pool_wait;
	struct lg_hist lat[LG_LATENCIES][LG_MODELS][LG_SERVICES];
	uint64_t chunks[LG_MODELS][LG_SERVICES];
	uint64_t bytes[LG_MODELS][LG_SERVICES];
	/* provider_response_received by status; LG_ST_ERROR holds status 0 ("error"). */
	uint64_t provider[LG_MODELS][LG_SERVICES][LG_STATUSES];
	uint64_t cases[LG_CASES];
	struct lg_durations durations;
	/* Process-wide state: only the main thread sets these. */
	int has_gauges;
	uint32_t clients_total, clients_available, clients_active;
	const char *version; /* raw, as fired; NULL until info fired */
};

/* Label indices of one request-shaped event. */
struct lg_labels {
	uint8_t endpoint, method, model, service, status, error;
};

extern const uint64_t lg_resp_bounds_ns[LG_RESP_BUCKETS];
extern const uint64_t lg_pool_bounds_ns[LG_POOL_BUCKETS];
extern const uint64_t lg_lat_bounds_ns[LG_LAT_BUCKETS];

/* Index of the first bound >= ns, or nbounds for +Inf (the exporter's rule). */
int tally__bucket(const uint64_t *bounds, int nbounds, uint64_t ns);

/* Zeroed tally on the heap; NULL and errno on failure. Free with free(). */
struct lg_tally *tally__new(void);

/* n completions with an explicit duration (0: none observed) and optional usage. */
void tally__complete(struct lg_tally *t, const struct lg_labels *l, uint64_t duration_ns,
		     const struct ccproxy_usage *usage, uint64_t n);
/* One completion whose duration the kernel measures: it lies in [inner_ns, outer_ns]. */
void tally__measured(struct lg_tally *t, const struct lg_labels *l, uint64_t inner_ns,
		     uint64_t outer_ns);
void tally__fail(struct lg_tally *t, const struct lg_labels *l, uint64_t n);
void tally__provider_error(struct lg_tally *t, const struct lg_labels *l, uint64_t n);
/* Usage of request_complete or provider_stream_end; ignored whole when a value is corrupt. */
void tally__usage(struct lg_tally *t, const struct lg_labels *l, const struct ccproxy_usage *u,
		  uint64_t n);
/* pool_* counters (pool_gauges excluded); pool_acquire also observes wait_ns. */
void tally__pool(struct lg_tally *t, enum ccproxy_probe_id id, uint64_t wait_ns, uint64_t n);

/*
 * A latency the kernel measures between probe hits: it lies in [inner_ns, outer_ns] (equal
 * when it is known exactly).
 */
void tally__latency(struct lg_tally *t, const struct lg_labels *l, enum lg_latency h,
		    uint64_t inner_ns, uint64_t outer_ns);
/* A request's stream chunks and bytes, counted at its end. */
void tally__stream(struct lg_tally *t, const struct lg_labels *l, uint64_t chunks, uint64_t bytes);
/* One provider_response_received with HTTP status status_idx (an index of lg_statuses). */
void tally__provider(struct lg_tally *t, const struct lg_labels *l, int status_idx);

/* Adds src's counts to dst; process-wide state is dst's. */
void tally__merge(struct lg_tally *dst, const struct lg_tally *src);
/* Frees t and what it owns. NULL-safe. */
void tally__free(struct lg_tally *t);

#endif /* LOADGEN_TALLY_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nhist: the exporter's half of the native histograms (bpf/ccproxy_nhist.h): the constants the BPF
 * side needs for a schema and zero threshold, and a series' counts as spans and deltas.
 * Pure: no I/O.
 */
#ifndef CCPROXY_NHIST_USER_H
#define CCPROXY_NHIST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/ccproxy.h"

#define NHIST_SCHEMA_DEFAULT 3
/* The least schema Prometheus takes: 16x per bucket. Only bucket limits go below 0. */
#define NHIST_SCHEMA_MIN -4
/* Buckets a series may be sent with by default, as OpenTelemetry's exponential histograms. */
#define NHIST_MAX_BUCKETS_DEFAULT    160
#define NHIST_ZERO_THRESHOLD_DEFAULT 0.0001
/* The zero thresholds allowed, seconds: the schema-0 buckets cover the rest (bpf/ccproxy_nhist.h).
 */
#define NHIST_ZERO_THRESHOLD_MIN 1e-6
#define NHIST_ZERO_THRESHOLD_MAX 60.0

struct nhist_params {
	int32_t schema;	       /* 0..CCPROXY_NH_SCHEMA_MAX */
	int32_t kmin;	       /* bucket index of the zero threshold */
	double zero_threshold; /* seconds: 2^(kmin/2^schema), the bound at or above the asked */
	uint64_t zero_ns;      /* floor(zero_threshold in ns) */
	int32_t k0_first;      /* schema-0 index of coarse[0] */
	uint64_t thresh[CCPROXY_NH_THRESHOLDS]; /* mantissa thresholds T_1..T_2^schema */
	size_t max_buckets; /* a series with more is sent at a lower schema; NHIST_MAX_BUCKETS */
};

/*
 * The constants for schema and a zero threshold in seconds, rounded up to a bucket bound;
 * max_buckets is NHIST_MAX_BUCKETS (the caller may lower it). 0, or -EINVAL for a schema or
 * threshold out of range.
 */
int nhist__params(int schema, double zero_threshold, struct nhist_params *p);

/* Most buckets a series can export: the fine ones, or all reduced to schema 0. */
#define NHIST_MAX_BUCKETS (CCPROXY_NH_SLOTS + CCPROXY_NH_COARSE)

struct nhist_span {
	int32_t offset; /* the first span: its first index; the others: the gap before them */
	uint32_t length;
};

/* One series, as the protobuf exposition carries it (positive buckets only: durations). */
struct nhist_out {
	int32_t schema;
	double zero_threshold;
	uint64_t zero_count;
	uint64_t count; /* the zero bucket and every other */
	size_t nspans, ndeltas;
	struct nhist_span spans[NHIST_MAX_BUCKETS];
	int64_t deltas[NHIST_MAX_BUCKETS]; /* each count minus the previous bucket's (first: 0) */
};

/*
 * One series' counts by slot (bpf/ccproxy_nhist.h), dense: what the renderer adds a row's
 * sparse buckets into. Non-cumulative; their sum is the count. When `ranged`, every nonzero
 * slot lies in [lo, hi), and clearing and exporting touch those only; a zeroed struct is not
 * ranged and may hold counts anywhere.
 */
struct nhist_counts {
	uint64_t zero;			    /* slot 0: durations <= the zero threshold */
	uint64_t fine[CCPROXY_NH_SLOTS];    /* slot 1 + i: bucket kmin + 1 + i of the schema */
	uint64_t coarse[CCPROXY_NH_COARSE]; /* slot 1 + SLOTS + i: schema-0 bucket k0_first + i */
	bool ranged;
	uint32_t lo, hi;
};

/* Empties h, and makes it ranged. */
void nhist__clear(struct nhist_counts *h);
/* Adds c to slot (< CCPROXY_NH_NSLOTS, else ignored), saturating. */
void nhist__add_slot(struct nhist_counts *h, uint32_t slot, uint64_t c);

/*
 * A series' counts as spans and deltas: at the configured schema while every count is in
 * the fine buckets, else reduced to schema 0 as a whole; then reduced further, down to
 * NHIST_SCHEMA_MIN, while it has more than p->max_buckets buckets. No bucket: one span
 * (0, 0), which marks the histogram as native even when empty.
 */
void nhist__export(const struct nhist_counts *h, const struct nhist_params *p, struct nhist_out *o);
/* Bucket k's upper bound in seconds at schema s: 2^(k/2^s). */
double nhist__bound(int32_t schema, int32_t k);

#endif /* CCPROXY_NHIST_USER_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Native (exponential) histograms of durations, shared by the BPF side and the exporter.
 *
 * Bucket k of schema s holds the durations d (seconds) with 2^((k-1)/2^s) < d <= 2^(k/2^s),
 * as Prometheus defines them. Durations at or below the zero threshold go to the zero bucket.
 * A series has CCPROXY_NH_NSLOTS slots: the zero bucket; CCPROXY_NH_SLOTS buckets of the
 * configured schema just above the zero threshold (schema 3: 25 octaves, e.g. 0.1 ms to 57
 * min); then, above them, buckets of schema 0 (one per power of two) up to the largest
 * duration a probe may report. Whenever a series has counts above the fine buckets, the
 * exporter reduces the whole series to schema 0 (the native histograms' rule: merge
 * neighbouring buckets pairwise, schema by schema), so every observation is counted where the
 * spec puts it and a series never exports more than CCPROXY_NH_NSLOTS - 1 buckets. The BPF
 * side stores only the slots that hold a count (struct ccproxy_nh_key).
 */
#ifndef CCPROXY_CCPROXY_NHIST_H
#define CCPROXY_CCPROXY_NHIST_H

/* Fine buckets per series: 25 octaves at schema 3. */
#define CCPROXY_NH_SLOTS 200
/* Schema-0 buckets above them: enough for any schema and zero threshold the flags allow. */
#define CCPROXY_NH_COARSE 48
/* A series' slots: the zero bucket, then bucket kmin + i (1 <= i <= CCPROXY_NH_SLOTS) of the
 * schema, then schema-0 bucket k0_first + j at slot CCPROXY_NH_SLOTS + 1 + j. */
#define CCPROXY_NH_SLOT_ZERO 0
#define CCPROXY_NH_NSLOTS    (1 + CCPROXY_NH_SLOTS + CCPROXY_NH_COARSE)
/* The schemas Prometheus takes: -4..8; durations use 0..8 (negative ones err by 2x and more). */
#define CCPROXY_NH_SCHEMA_MAX 8
/* Mantissa thresholds, indexed 1..2^schema; slot 0 unused. */
#define CCPROXY_NH_THRESHOLDS ((1 << CCPROXY_NH_SCHEMA_MAX) + 1)

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* floor(log2(v)) for v > 0, in six steps (libbpf-tools' log2l, without a loop). */
static __always_inline uint32_t nh_log2(uint64_t v)
{
	uint32_t r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFFFF) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* #{j in 1..2^s - 1 : m > T_j}: T is increasing, so a binary search of s steps. */
static __always_inline uint32_t nh_rank(uint64_t m, uint32_t schema, const volatile uint64_t *t)
{
	uint32_t lo = 0, i, idx;

	for (i = 0; i < CCPROXY_NH_SCHEMA_MAX; i++) {
		if (i >= schema)
			break;
		idx = lo + (1u << (schema - 1 - i));
		if (idx >= CCPROXY_NH_THRESHOLDS)
			return lo; /* unreachable; bounds the index for the verifier */
		if (t[idx] < m)
			lo = idx;
	}
	return lo;
}

/*
 * The bucket of ns / 1e9 seconds (ns > 0) at schema s, with integers only. Write
 * ns = 2^e * m / 2^63 with m in (T_n / 2, T_n], n = 2^s, T_j = floor(1e9 * 2^33 * 2^(j/n)):
 * e = floor(log2(ns)) and m = ns << (63 - e), halved (e + 1) when above T_n. Then
 * ns / 1e9 = 2^(e - 30) * 2^L with L = log2(m / T_0) in (0, 1], and the bucket, the least k
 * with ns / 1e9 <= 2^(k/n), is
 *   k = (e - 30) * n + ceil(n * L) = (e - 30) * n + 1 + #{j in 1..n-1 : m > T_j}.
 * T_n = 1e9 * 2^34 exactly (below 2^64), so whole seconds land in the bucket they bound,
 * upper bounds being inclusive. No floating point, no division.
 */
static __always_inline int64_t nh_index(uint64_t ns, uint32_t schema, const volatile uint64_t *t)
{
	uint32_t e = nh_log2(ns), n = 1u << schema;
	uint64_t m = ns << (63 - e);

	if (n >= CCPROXY_NH_THRESHOLDS)
		return 0; /* unreachable; bounds the index for the verifier */
	if (m > t[n]) {
		e++;
		m >>= 1;
	}
	return ((int64_t)e - 30) * n + 1 + nh_rank(m, schema, t);
}

#endif /* CCPROXY_CCPROXY_NHIST_H */

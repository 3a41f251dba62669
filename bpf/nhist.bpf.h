/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The native bucket slot of a duration (ccproxy_nhist.h), with integers only.
 *
 * The bucket index comes from nh_index (ccproxy_nhist.h); the exporter computes its thresholds once
 * (src/nhist.c) and sets them before load.
 */
#ifndef CCPROXY_NHIST_BPF_H
#define CCPROXY_NHIST_BPF_H

#include "ccproxy_nhist.h"

/* Set by the exporter between open and load; nh_enabled false: nothing is observed. */
const volatile bool nh_enabled = false;
const volatile __u32 nh_schema = 3;
const volatile __s32 nh_kmin = 0;     /* bucket index of the zero threshold */
const volatile __u64 nh_zero_ns = 0;  /* the zero threshold, floor(ns) */
const volatile __s32 nh_k0_first = 0; /* schema-0 index of coarse[0] */
const volatile __u64 nh_thresh[CCPROXY_NH_THRESHOLDS] = {};

/*
 * A global function: the verifier checks it once, with ns unknown, instead of following every
 * path of the search in every caller (schema 8 would exceed its limit in request_complete).
 */
__noinline __s64 nh_bucket(__u64 ns)
{
	return nh_index(ns, nh_schema, nh_thresh);
}

/* The slot (ccproxy_nhist.h) of a duration of ns nanoseconds. */
static __always_inline __u16 nh_slot(__u64 ns)
{
	__s64 k, k0;
	__u64 fine;

	if (ns <= nh_zero_ns)
		return CCPROXY_NH_SLOT_ZERO;
	k = nh_bucket(ns);
	fine = (__u64)(k - nh_kmin);
	if (fine >= 1 && fine <= CCPROXY_NH_SLOTS)
		return (__u16)fine;
	/* ceil(k / 2^s), with an arithmetic shift for negative k */
	k0 = -((-k) >> nh_schema);
	fine = (__u64)(k0 - nh_k0_first);
	if (fine >= CCPROXY_NH_COARSE)
		fine = CCPROXY_NH_COARSE - 1; /* only beyond CCPROXY_DURATION_NS_MAX */
	return (__u16)(1 + CCPROXY_NH_SLOTS + fine);
}

#endif /* CCPROXY_NHIST_BPF_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Observing a duration into a struct ccproxy_nhist (ccproxy_nhist.h), with integers only.
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

static __always_inline void nh_observe(struct ccproxy_nhist *h, __u64 ns)
{
	__s64 k, k0;
	__u64 slot;

	if (!nh_enabled)
		return;
	if (ns <= nh_zero_ns) {
		__sync_fetch_and_add(&h->zero, 1);
		return;
	}
	k = nh_bucket(ns);
	slot = (__u64)(k - nh_kmin - 1);
	if (slot < CCPROXY_NH_SLOTS) {
		__sync_fetch_and_add(&h->fine[slot], 1);
		return;
	}
	/* ceil(k / 2^s), with an arithmetic shift for negative k */
	k0 = -((-k) >> nh_schema);
	slot = (__u64)(k0 - nh_k0_first);
	if (slot >= CCPROXY_NH_COARSE)
		slot = CCPROXY_NH_COARSE - 1; /* only beyond CCPROXY_DURATION_NS_MAX */
	__sync_fetch_and_add(&h->coarse[slot], 1);
}

#endif /* CCPROXY_NHIST_BPF_H */

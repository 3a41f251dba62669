// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <string.h>
#include "nhist.h"
#include "snapshot.h"

/* floor(a / 2^s) and ceil(a / 2^s) for any sign. */
static int64_t floor_shift(int64_t a, int s)
{
	return a >= 0 ? a >> s : -((-a + (1LL << s) - 1) >> s);
}

static int64_t ceil_shift(int64_t a, int s)
{
	return -floor_shift(-a, s);
}

int nhist__params(int schema, double zero_threshold, struct nhist_params *p)
{
	long double n;
	int j;

	if (schema < 0 || schema > CCPROXY_NH_SCHEMA_MAX ||
	    !(zero_threshold >= NHIST_ZERO_THRESHOLD_MIN) ||
	    !(zero_threshold <= NHIST_ZERO_THRESHOLD_MAX))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	n = (long double)(1 << schema);
	p->schema = schema;
	p->kmin = (int32_t)ceill(log2l((long double)zero_threshold) * n);
	p->zero_threshold = nhist__bound(schema, p->kmin);
	p->zero_ns = (uint64_t)floorl(1e9L * exp2l((long double)p->kmin / n));
	p->k0_first = (int32_t)ceil_shift((int64_t)p->kmin + CCPROXY_NH_SLOTS + 1, schema);
	p->max_buckets = NHIST_MAX_BUCKETS;
	/* T_j = floor(1e9 * 2^33 * 2^(j/n)); T_n = 1e9 * 2^34 exactly (nhist.bpf.h). */
	for (j = 1; j <= (1 << schema); j++)
		p->thresh[j] = (uint64_t)floorl(1e9L * 8589934592.0L * exp2l((long double)j / n));
	return 0;
}

double nhist__bound(int32_t schema, int32_t k)
{
	return (double)exp2l((long double)k / (long double)(1 << schema));
}

/* Appends bucket k with count c (> 0), k increasing from call to call. */
static void put_bucket(struct nhist_out *o, int64_t k, uint64_t c, int64_t *prev_k,
		       uint64_t *prev_c)
{
	struct nhist_span *last = o->nspans ? &o->spans[o->nspans - 1] : NULL;

	if (last && k == *prev_k + 1) {
		last->length++;
	} else if (o->nspans < NHIST_MAX_BUCKETS) {
		o->spans[o->nspans++] = (struct nhist_span){
			.offset = (int32_t)(last ? k - *prev_k - 1 : k),
			.length = 1,
		};
	}
	if (o->ndeltas < NHIST_MAX_BUCKETS)
		o->deltas[o->ndeltas++] = (int64_t)(c - *prev_c);
	o->count = snap_add(o->count, c);
	*prev_k = k;
	*prev_c = c;
}

static uint64_t *slot_of(struct nhist_counts *h, uint32_t slot)
{
	if (slot == CCPROXY_NH_SLOT_ZERO)
		return &h->zero;
	return slot <= CCPROXY_NH_SLOTS ? &h->fine[slot - 1]
					: &h->coarse[slot - 1 - CCPROXY_NH_SLOTS];
}

void nhist__clear(struct nhist_counts *h)
{
	uint32_t s;

	if (!h->ranged) {
		memset(h, 0, sizeof(*h));
		h->ranged = true;
		return;
	}
	for (s = h->lo; s < h->hi; s++)
		*slot_of(h, s) = 0;
	h->lo = h->hi = 0;
}

void nhist__add_slot(struct nhist_counts *h, uint32_t slot, uint64_t c)
{
	uint64_t *at;

	if (slot >= CCPROXY_NH_NSLOTS)
		return;
	at = slot_of(h, slot);
	*at = snap_add(*at, c);
	if (h->lo == h->hi) {
		h->lo = slot;
		h->hi = slot + 1;
	} else if (slot < h->lo) {
		h->lo = slot;
	} else if (slot >= h->hi) {
		h->hi = slot + 1;
	}
}

/* The fine and coarse slots that may hold counts, as indexes i of slot_count: [*first, *end). */
static void slot_range(const struct nhist_counts *h, size_t *first, size_t *end)
{
	*first = 0;
	*end = CCPROXY_NH_SLOTS + CCPROXY_NH_COARSE;
	if (h->ranged) {
		*first = h->lo ? h->lo - 1 : 0;
		*end = h->hi ? h->hi - 1 : 0;
	}
}

static bool has_coarse(const struct nhist_counts *h)
{
	size_t i, first, end;

	slot_range(h, &first, &end);
	for (i = first > CCPROXY_NH_SLOTS ? first : CCPROXY_NH_SLOTS; i < end; i++)
		if (h->coarse[i - CCPROXY_NH_SLOTS])
			return true;
	return false;
}

/* Slot i's bucket at schema `to`: fine ones from the schema, coarse ones from schema 0. */
static int64_t slot_bucket(const struct nhist_params *p, size_t i, int to)
{
	if (i < CCPROXY_NH_SLOTS)
		return ceil_shift((int64_t)p->kmin + 1 + (int64_t)i, p->schema - to);
	return ceil_shift((int64_t)p->k0_first + (int64_t)(i - CCPROXY_NH_SLOTS), -to);
}

static uint64_t slot_count(const struct nhist_counts *h, size_t i)
{
	return i < CCPROXY_NH_SLOTS ? h->fine[i] : h->coarse[i - CCPROXY_NH_SLOTS];
}

/*
 * Walks the counted slots in order at schema `to`, merging those that share a bucket there
 * (they are neighbours: a slot's bucket never decreases with the slot). Emits into o unless
 * it is NULL; returns the number of buckets.
 */
static size_t walk(const struct nhist_counts *h, const struct nhist_params *p, int to,
		   struct nhist_out *o)
{
	int64_t k, cur = 0, prev_k = 0;
	uint64_t c, acc = 0, prev_c = 0;
	size_t i, first, end, n = 0;

	slot_range(h, &first, &end);
	for (i = first; i < end; i++) {
		if (!(c = slot_count(h, i)))
			continue;
		k = slot_bucket(p, i, to);
		if (acc && k != cur) {
			if (o)
				put_bucket(o, cur, acc, &prev_k, &prev_c);
			acc = 0;
		}
		n += !acc;
		cur = k;
		acc = snap_add(acc, c);
	}
	if (acc && o)
		put_bucket(o, cur, acc, &prev_k, &prev_c);
	return n;
}

/*
 * The schema a series is sent at: the configured one while every count is in the fine
 * buckets, else 0; then lower, schema by schema, while it has more buckets than allowed (the
 * native histograms' reduce-resolution rule: each step merges neighbouring buckets pairwise).
 */
static int export_schema(const struct nhist_counts *h, const struct nhist_params *p)
{
	int to = has_coarse(h) ? 0 : p->schema;
	size_t first, end;

	slot_range(h, &first, &end);
	if (end - first <= p->max_buckets)
		return to; /* no more buckets than slots: counting them is not needed */
	while (to > NHIST_SCHEMA_MIN && walk(h, p, to, NULL) > p->max_buckets)
		to--;
	return to;
}

void nhist__export(const struct nhist_counts *h, const struct nhist_params *p, struct nhist_out *o)
{
	o->schema = export_schema(h, p);
	o->zero_threshold = p->zero_threshold;
	o->zero_count = h->zero;
	o->count = h->zero;
	o->nspans = o->ndeltas = 0;
	walk(h, p, o->schema, o);
	if (!o->nspans)
		o->spans[o->nspans++] = (struct nhist_span){0, 0};
}

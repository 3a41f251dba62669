// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "nhist.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The bucket Prometheus puts d seconds in: the least k with d <= 2^(k/2^s). */
static long ref_index(long double d, int schema)
{
	long double x = log2l(d) * (long double)(1 << schema);

	return (long)ceill(x);
}

static int64_t index_of(const struct nhist_params *p, uint64_t ns)
{
	return nh_index(ns, (uint32_t)p->schema, p->thresh);
}

Test(nhist, params)
{
	struct nhist_params p;

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	cr_expect_eq(p.kmin, -106); /* ceil(8 * log2(1e-4)) */
	cr_expect_float_eq(p.zero_threshold, exp2(-106.0 / 8), 1e-18);
	cr_expect_eq(p.zero_ns, 102648); /* floor(1e9 * 2^-13.25) */
	cr_expect_eq(p.thresh[8], 1000000000ULL << 34);
	cr_expect_eq(p.k0_first, 12); /* ceil((-106 + 200 + 1) / 8) */
	cr_assert_eq(nhist__params(3, 0.0009765625, &p), 0);
	cr_expect_eq(p.kmin, -80); /* exactly 2^-10: no rounding up */
	cr_expect_eq(nhist__params(9, 0.001, &p), -EINVAL);
	cr_expect_eq(nhist__params(-1, 0.001, &p), -EINVAL);
	cr_expect_eq(nhist__params(3, 0, &p), -EINVAL);
	cr_expect_eq(nhist__params(3, NAN, &p), -EINVAL);
	cr_expect_eq(nhist__params(3, 61, &p), -EINVAL);
}

/* Whole seconds and powers of two sit on their own (inclusive) upper bound. */
Test(nhist, exact_bounds)
{
	struct nhist_params p;
	int s;

	for (s = 0; s <= CCPROXY_NH_SCHEMA_MAX; s++) {
		int n = 1 << s;

		cr_assert_eq(nhist__params(s, 1e-6, &p), 0);
		cr_expect_eq(index_of(&p, 1000000000ULL), 0, "schema %d: 1 s", s);
		cr_expect_eq(index_of(&p, 1000000001ULL), 1, "schema %d: 1 s + 1 ns", s);
		cr_expect_eq(index_of(&p, 999999999ULL), 0, "schema %d: 1 s - 1 ns", s);
		cr_expect_eq(index_of(&p, 2000000000ULL), n, "schema %d: 2 s", s);
		cr_expect_eq(index_of(&p, 500000000ULL), -n, "schema %d: 0.5 s", s);
		cr_expect_eq(index_of(&p, 64000000000ULL), 6 * n, "schema %d: 64 s", s);
		cr_expect_eq(index_of(&p, 1ULL << 50), ref_index(exp2l(50) / 1e9L, s));
		cr_expect_eq(index_of(&p, 1), ref_index(1e-9L, s));
	}
}

/* Against the floating-point definition, over the whole duration range, every schema. */
Test(nhist, matches_definition)
{
	struct nhist_params p;
	unsigned int seed = 14;
	int s, i, checked = 0;

	for (s = 0; s <= CCPROXY_NH_SCHEMA_MAX; s++) {
		cr_assert_eq(nhist__params(s, 1e-6, &p), 0);
		for (i = 0; i < 20000; i++) {
			/* log-uniform over 1 ns .. 2^50 ns */
			uint64_t ns = (uint64_t)exp2l((long double)rand_r(&seed) / RAND_MAX * 50);
			long double x = log2l((long double)ns / 1e9L) * (long double)(1 << s);

			if (!ns || fabsl(x - roundl(x)) < 1e-9L)
				continue; /* on a bound up to rounding: the exact tests cover those
					   */
			cr_assert_eq(index_of(&p, ns), ref_index((long double)ns / 1e9L, s),
				     "schema %d, %llu ns", s, (unsigned long long)ns);
			checked++;
		}
	}
	cr_expect_gt(checked, 170000);
}

static void expect_export(const struct nhist_out *o, int schema, uint64_t count,
			  const struct nhist_span *spans, size_t nspans, const int64_t *deltas,
			  size_t ndeltas)
{
	size_t i;

	cr_expect_eq(o->schema, schema);
	cr_expect_eq(o->count, count);
	cr_assert_eq(o->nspans, nspans);
	cr_assert_eq(o->ndeltas, ndeltas);
	for (i = 0; i < nspans; i++) {
		cr_expect_eq(o->spans[i].offset, spans[i].offset, "span %zu", i);
		cr_expect_eq(o->spans[i].length, spans[i].length, "span %zu", i);
	}
	for (i = 0; i < ndeltas; i++)
		cr_expect_eq(o->deltas[i], deltas[i], "delta %zu", i);
}

Test(nhist, export_fine)
{
	static struct nhist_counts h;
	static struct nhist_out o;
	struct nhist_params p;
	/* slots 0, 1, 5 -> indices kmin+1, kmin+2, kmin+6 */
	const struct nhist_span spans[] = {{-105, 2}, {3, 1}};
	const int64_t deltas[] = {4, -3, 6};

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	h.zero = 2;
	h.fine[0] = 4;
	h.fine[1] = 1;
	h.fine[5] = 7;
	nhist__export(&h, &p, &o);
	cr_expect_eq(o.zero_count, 2);
	cr_expect_float_eq(o.zero_threshold, p.zero_threshold, 1e-18);
	expect_export(&o, 3, 14, spans, 2, deltas, 3);
}

/* A count above the fine buckets reduces the whole series to schema 0. */
Test(nhist, export_reduced)
{
	static struct nhist_counts h;
	static struct nhist_out o;
	struct nhist_params p;
	/* fine slot 0 = k -105 -> ceil(-105/8) = -13; slot 199 = k 94 -> 12; coarse 0 = 12,
	 * coarse 2 = 14 */
	const struct nhist_span spans[] = {{-13, 1}, {24, 1}, {1, 1}};
	const int64_t deltas[] = {1, 4, -1};

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	h.fine[0] = 1;
	h.fine[199] = 2;
	h.coarse[0] = 3;
	h.coarse[2] = 4;
	nhist__export(&h, &p, &o);
	expect_export(&o, 0, 10, spans, 3, deltas, 3);
}

/* More buckets than allowed: the schema goes down until they fit, merging pairwise. */
Test(nhist, export_limited_reduces_resolution)
{
	static struct nhist_counts h;
	static struct nhist_out o;
	struct nhist_params p;
	/* slots 0..9 = k -105..-96 at schema 3 -> ceil(k / 2) = -52..-48 at schema 2 */
	const struct nhist_span spans[] = {{-52, 5}};
	const int64_t deltas[] = {2, 0, 0, 0, 0};
	size_t i;

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	for (i = 0; i < 10; i++)
		h.fine[i] = 1;
	p.max_buckets = 10;
	nhist__export(&h, &p, &o);
	cr_expect_eq(o.schema, 3);
	cr_expect_eq(o.nspans, 1);
	p.max_buckets = 5;
	nhist__export(&h, &p, &o);
	expect_export(&o, 2, 10, spans, 1, deltas, 5);
}

/* Down to schema -4, Prometheus' least, and no further, even if still too many. */
Test(nhist, export_limited_stops_at_the_least_schema)
{
	static struct nhist_counts h;
	static struct nhist_out o;
	struct nhist_params p;
	/* coarse 0 = schema-0 bucket 12, coarse 10 = 22 -> ceil(/16) = 1 and 2 at schema -4 */
	const struct nhist_span spans[] = {{1, 2}};
	const int64_t deltas[] = {3, 1};

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	h.coarse[0] = 3;
	h.coarse[10] = 4;
	p.max_buckets = 1;
	nhist__export(&h, &p, &o);
	expect_export(&o, -4, 7, spans, 1, deltas, 2);
}

/* No observation: one empty span, so that a reader still sees a native histogram. */
Test(nhist, export_empty)
{
	static struct nhist_counts h;
	static struct nhist_out o;
	struct nhist_params p;
	const struct nhist_span spans[] = {{0, 0}};

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	nhist__export(&h, &p, &o);
	expect_export(&o, 3, 0, spans, 1, NULL, 0);
}

/* Counts added slot by slot after a clear are exported from their range alone, as a whole scan
 * would export them; a clear then leaves every slot zero. */
Test(nhist, ranged_counts_export_as_a_full_scan)
{
	static struct nhist_counts ranged, full;
	static struct nhist_out a, b;
	static const uint32_t slots[] = {0, 7, 8, 9, 150, 200, 201, 230, 248, 249};
	struct nhist_params p;
	size_t i, round;

	cr_assert_eq(nhist__params(3, 0.0001, &p), 0);
	for (round = 0; round < 3; round++) {
		nhist__clear(&ranged);
		memset(&full, 0, sizeof(full));
		for (i = round; i < ARRAY_SIZE(slots) - 3 + round; i++) {
			nhist__add_slot(&ranged, slots[i], i + 1);
			nhist__add_slot(&full, slots[i], i + 1);
		}
		full.ranged = false;
		nhist__export(&ranged, &p, &a);
		nhist__export(&full, &p, &b);
		cr_expect_eq(a.schema, b.schema);
		cr_expect_eq(a.count, b.count);
		cr_expect_eq(a.zero_count, b.zero_count);
		cr_assert_eq(a.nspans, b.nspans);
		cr_assert_eq(a.ndeltas, b.ndeltas);
		cr_expect_eq(memcmp(a.spans, b.spans, a.nspans * sizeof(a.spans[0])), 0);
		cr_expect_eq(memcmp(a.deltas, b.deltas, a.ndeltas * sizeof(a.deltas[0])), 0);
	}
	nhist__clear(&ranged);
	cr_expect_eq(ranged.zero, 0);
	for (i = 0; i < CCPROXY_NH_SLOTS; i++)
		cr_expect_eq(ranged.fine[i], 0, "fine %zu", i);
	for (i = 0; i < CCPROXY_NH_COARSE; i++)
		cr_expect_eq(ranged.coarse[i], 0, "coarse %zu", i);
}

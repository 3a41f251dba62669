// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "expo_pb.h"
#include "metrics.pb-c.h"
#include "pb_unpack.h"

Test(expo_pb, varint)
{
	struct strbuf sb = STRBUF_INIT;

	expo_pb__varint(&sb, 0);
	expo_pb__varint(&sb, 127);
	expo_pb__varint(&sb, 128);
	expo_pb__varint(&sb, 300);
	expo_pb__varint(&sb, UINT64_MAX);
	cr_assert_eq(sb.len, 1 + 1 + 2 + 2 + 10);
	cr_expect(memcmp(sb.buf, "\x00\x7f\x80\x01\xac\x02", 6) == 0);
	cr_expect(memcmp(sb.buf + 6, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10) == 0);
	strbuf__free(&sb);
}

Test(expo_pb, families)
{
	struct strbuf sb = STRBUF_INIT;
	struct expo_pb *pb = expo_pb__new(&sb);
	const struct expo_label l[] = {
		{.name = "model", .value = "m\xff", .max = SIZE_MAX},
		{.name = "status", .value = "", .max = SIZE_MAX, .fallback = "unknown"},
	};
	const double bounds[] = {0.1, 1.0};
	const uint64_t buckets[] = {2, 3, 4};
	static struct nhist_out nh = {.schema = 3,
				      .zero_threshold = 0.0001,
				      .zero_count = 1,
				      .count = 9,
				      .nspans = 2,
				      .ndeltas = 3,
				      .spans = {{-5, 2}, {3, 1}},
				      .deltas = {2, 1, 2}};
	Io__Prometheus__Client__MetricFamily *mf[4];
	Io__Prometheus__Client__Histogram *h;

	cr_assert_not_null(pb);
	expo_pb__family(pb, "ccproxy", "requests_total", "Total", EXPO_PB_COUNTER);
	expo_pb__sample(pb, l, 2, 12);
	expo_pb__sample(pb, l, 1, 3.5);
	expo_pb__family(pb, NULL, "up", "Up", EXPO_PB_GAUGE);
	expo_pb__sample(pb, NULL, 0, 1);
	expo_pb__family(pb, "ccproxy", "d_seconds", "D", EXPO_PB_HISTOGRAM);
	expo_pb__histogram(pb, l, 1, bounds, 2, buckets, 4.25, &nh);
	expo_pb__histogram(pb, l, 1, bounds, 2, buckets, 4.25, NULL);
	cr_assert_eq(expo_pb__finish(pb), 0);
	expo_pb__free(pb);

	cr_assert_eq(unpack_all(&sb, mf, 4), 3);
	cr_expect_str_eq(mf[0]->name, "ccproxy_requests_total");
	cr_expect_str_eq(mf[0]->help, "Total");
	cr_expect_eq(mf[0]->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
	cr_assert_eq(mf[0]->n_metric, 2);
	cr_assert_eq(mf[0]->metric[0]->n_label, 2);
	cr_expect_str_eq(mf[0]->metric[0]->label[0]->name, "model");
	cr_expect_str_eq(mf[0]->metric[0]->label[0]->value, "m\xEF\xBF\xBD");
	cr_expect_str_eq(mf[0]->metric[0]->label[1]->value, "unknown");
	cr_expect_eq(mf[0]->metric[0]->counter->value, 12);
	cr_expect_eq(mf[0]->metric[1]->counter->value, 3.5);
	cr_expect_str_eq(mf[1]->name, "up");
	cr_expect_eq(mf[1]->metric[0]->gauge->value, 1);
	cr_expect_eq(mf[1]->metric[0]->n_label, 0);

	h = mf[2]->metric[0]->histogram;
	cr_expect_eq(h->sample_count, 9);
	cr_expect_eq(h->sample_sum, 4.25);
	cr_assert_eq(h->n_bucket, 2);
	cr_expect_eq(h->bucket[0]->cumulative_count, 2);
	cr_expect_eq(h->bucket[1]->cumulative_count, 5);
	cr_expect_eq(h->bucket[1]->upper_bound, 1.0);
	cr_expect(h->has_schema && h->schema == 3);
	cr_expect_eq(h->zero_threshold, 0.0001);
	cr_expect_eq(h->zero_count, 1);
	cr_assert_eq(h->n_positive_span, 2);
	cr_expect_eq(h->positive_span[0]->offset, -5);
	cr_expect_eq(h->positive_span[0]->length, 2);
	cr_expect_eq(h->positive_span[1]->offset, 3);
	cr_assert_eq(h->n_positive_delta, 3);
	cr_expect_eq(h->positive_delta[2], 2);
	h = mf[2]->metric[1]->histogram;
	cr_expect(!h->has_schema && h->n_positive_span == 0, "no native part asked for");
	for (int i = 0; i < 3; i++)
		io__prometheus__client__metric_family__free_unpacked(mf[i], NULL);
	strbuf__free(&sb);
}

/* Thousands of series in one family: the arena grows past a chunk. */
Test(expo_pb, many_series)
{
	struct strbuf sb = STRBUF_INIT;
	struct expo_pb *pb = expo_pb__new(&sb);
	Io__Prometheus__Client__MetricFamily *mf[1];
	char v[16];
	int i;

	expo_pb__family(pb, "ccproxy", "x_total", "X", EXPO_PB_COUNTER);
	for (i = 0; i < 5000; i++) {
		const struct expo_label l[] = {{.name = "i", .value = v, .max = sizeof(v)}};

		snprintf(v, sizeof(v), "%d", i);
		expo_pb__sample(pb, l, 1, i);
	}
	cr_assert_eq(expo_pb__finish(pb), 0);
	expo_pb__free(pb);
	cr_assert_eq(unpack_all(&sb, mf, 1), 1);
	cr_assert_eq(mf[0]->n_metric, 5000);
	cr_expect_str_eq(mf[0]->metric[4999]->label[0]->value, "4999");
	io__prometheus__client__metric_family__free_unpacked(mf[0], NULL);
	strbuf__free(&sb);
}

/* created_timestamp: seconds and nanos of the well-known Timestamp, counters and histograms. */
Test(expo_pb, created_timestamps)
{
	struct strbuf sb = STRBUF_INIT;
	struct expo_pb *pb = expo_pb__new(&sb);
	const double bounds[] = {1.0};
	const uint64_t buckets[] = {1, 0};
	Io__Prometheus__Client__MetricFamily *mf[3];
	Io__Prometheus__Client__Timestamp *t;

	cr_assert_not_null(pb);
	expo_pb__family(pb, "ccproxy", "requests_total", "Total", EXPO_PB_COUNTER);
	cr_expect_eq(expo_pb__created(pb, 1), -EINVAL, "no series yet");
	expo_pb__sample(pb, NULL, 0, 1);
	cr_expect_eq(expo_pb__created(pb, 1700000000123456789ull), 0);
	expo_pb__sample(pb, NULL, 0, 2); /* unknown: none */
	expo_pb__sample(pb, NULL, 0, 3);
	cr_expect_eq(expo_pb__created(pb, 1700000000000000000ull), 0);
	expo_pb__family(pb, "ccproxy", "d_seconds", "D", EXPO_PB_HISTOGRAM);
	expo_pb__histogram(pb, NULL, 0, bounds, 1, buckets, 0.5, NULL);
	cr_expect_eq(expo_pb__created(pb, 1700000001000000002ull), 0);
	expo_pb__family(pb, NULL, "up", "Up", EXPO_PB_GAUGE);
	expo_pb__sample(pb, NULL, 0, 1);
	cr_expect_eq(expo_pb__created(pb, 5), -EINVAL, "gauges have none");
	cr_assert_eq(expo_pb__finish(pb), 0);
	expo_pb__free(pb);

	cr_assert_eq(unpack_all(&sb, mf, 3), 3);
	t = mf[0]->metric[0]->counter->created_timestamp;
	cr_assert_not_null(t);
	cr_expect(t->has_seconds && t->seconds == 1700000000);
	cr_expect(t->has_nanos && t->nanos == 123456789);
	cr_expect_null(mf[0]->metric[1]->counter->created_timestamp);
	t = mf[0]->metric[2]->counter->created_timestamp;
	cr_assert_not_null(t);
	cr_expect(t->seconds == 1700000000 && !t->has_nanos && t->nanos == 0);
	t = mf[1]->metric[0]->histogram->created_timestamp;
	cr_assert_not_null(t);
	cr_expect(t->seconds == 1700000001 && t->nanos == 2);
	cr_expect_null(mf[2]->metric[0]->counter);
	for (int i = 0; i < 3; i++)
		io__prometheus__client__metric_family__free_unpacked(mf[i], NULL);
	strbuf__free(&sb);
}

/* The local Timestamp message is google.protobuf.Timestamp on the wire: field 1 varint
 * seconds, field 2 varint nanos; Counter's is field 3, Histogram's field 15. */
Test(expo_pb, created_timestamp_wire_form)
{
	struct strbuf sb = STRBUF_INIT;
	struct expo_pb *pb = expo_pb__new(&sb);
	/* Counter{value=1 (field 1, fixed64), created_timestamp (field 3, 4 bytes):
	 * {seconds=1 (08 01), nanos=2 (10 02)}} */
	static const char counter[] =
		"\x09\x00\x00\x00\x00\x00\x00\xf0\x3f\x1a\x04\x08\x01\x10\x02";
	/* Histogram created_timestamp: tag (15 << 3 | 2) = 0x7a, {seconds=3} */
	static const char hist[] = "\x7a\x02\x08\x03";
	const uint64_t buckets[] = {0};

	expo_pb__family(pb, NULL, "c_total", "", EXPO_PB_COUNTER);
	expo_pb__sample(pb, NULL, 0, 1);
	expo_pb__created(pb, 1000000002ull);
	expo_pb__family(pb, NULL, "h", "", EXPO_PB_HISTOGRAM);
	expo_pb__histogram(pb, NULL, 0, NULL, 0, buckets, 0, NULL);
	expo_pb__created(pb, 3000000000ull);
	cr_assert_eq(expo_pb__finish(pb), 0);
	expo_pb__free(pb);
	cr_expect_not_null(memmem(sb.buf, sb.len, counter, sizeof(counter) - 1));
	cr_expect_not_null(memmem(sb.buf, sb.len, hist, sizeof(hist) - 1));
	strbuf__free(&sb);
}

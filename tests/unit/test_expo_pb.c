// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "expo_pb.h"
#include "metrics.pb-c.h"

/* Reads the delimited messages of buf back with protobuf-c's own unpacker. */
static size_t unpack_all(const struct strbuf *sb, Io__Prometheus__Client__MetricFamily **out,
			 size_t max)
{
	size_t pos = 0, n = 0;

	while (pos < sb->len && n < max) {
		uint64_t len = 0;
		int shift = 0;
		unsigned char c;

		do {
			cr_assert_lt(pos, sb->len);
			c = (unsigned char)sb->buf[pos++];
			len |= (uint64_t)(c & 0x7F) << shift;
			shift += 7;
		} while (c & 0x80);
		cr_assert_leq(pos + len, sb->len);
		out[n] = io__prometheus__client__metric_family__unpack(
			NULL, len, (const uint8_t *)sb->buf + pos);
		cr_assert_not_null(out[n]);
		pos += len;
		n++;
	}
	cr_expect_eq(pos, sb->len);
	return n;
}

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

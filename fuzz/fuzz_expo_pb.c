// SPDX-License-Identifier: BSD-2-Clause
/*
 * expo_pb and nhist__export: label values and native counts from any bytes. Properties: no
 * crash; the output reads back with protobuf-c's own unpacker; every label value reads back
 * as expo__label_utf8 gives it (what a text reader gets); a native histogram's deltas add up
 * to its count, less the zero bucket; a created_timestamp reads back as the nanoseconds given
 * (none for 0).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "expo_pb.h"
#include "metrics.pb-c.h"

#define MAX_SERIES 8

static Io__Prometheus__Client__MetricFamily *read_one(const struct strbuf *sb, size_t *pos)
{
	uint64_t len = 0;
	int shift = 0;
	unsigned char c;

	do {
		if (*pos >= sb->len || shift > 63)
			abort();
		c = (unsigned char)sb->buf[(*pos)++];
		len |= (uint64_t)(c & 0x7F) << shift;
		shift += 7;
	} while (c & 0x80);
	if (len > sb->len - *pos)
		abort();
	*pos += len;
	return io__prometheus__client__metric_family__unpack(NULL, len,
							     (const uint8_t *)sb->buf + *pos - len);
}

/* The created_timestamp sent for ns (0: none) reads back as ns. */
static void check_created(const Io__Prometheus__Client__Timestamp *t, uint64_t ns)
{
	if (!ns ? t != NULL
		: !t || t->nanos < 0 || t->nanos > 999999999 ||
			    (uint64_t)t->seconds * 1000000000u + (uint64_t)t->nanos != ns)
		abort();
}

static void check_label(const char *got, const char *raw, size_t n)
{
	struct strbuf want = STRBUF_INIT;
	size_t off;

	expo__label_utf8(&want, raw, n, "unknown", &off);
	if (want.err || strcmp(got, want.buf + off))
		abort();
	strbuf__free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nhist_counts h;
	static struct nhist_out out;
	const double bounds[] = {0.1, 1.0};
	const uint64_t buckets[] = {1, 2, 3};
	struct strbuf sb = STRBUF_INIT;
	struct expo_label l[MAX_SERIES];
	struct nhist_params p;
	Io__Prometheus__Client__MetricFamily *mf[2];
	size_t i, n = 0, pos = 0, chunk = size / MAX_SERIES + 1;
	struct expo_pb *pb;
	uint64_t created = 0;
	int64_t sum = 0;

	for (i = 0; i < MAX_SERIES && i * chunk < size; i++, n++)
		l[i] = (struct expo_label){.name = "l",
					   .value = (const char *)data + i * chunk,
					   .max = size - i * chunk < chunk ? size - i * chunk
									   : chunk,
					   .fallback = "unknown"};
	memset(&h, 0, sizeof(h));
	for (i = 0; i < size && i < CCPROXY_NH_SLOTS + CCPROXY_NH_COARSE; i++) {
		if (i < CCPROXY_NH_SLOTS)
			h.fine[i] = data[i] & 3;
		else
			h.coarse[i - CCPROXY_NH_SLOTS] = data[i] >> 7;
	}
	if (nhist__params(size ? data[0] % 9 : 3, 0.0001, &p))
		abort();
	nhist__export(&h, &p, &out);
	for (i = 0; i < out.ndeltas; i++)
		sum += out.deltas[i] * (int64_t)(out.ndeltas - i);
	if ((uint64_t)sum != out.count - out.zero_count)
		abort();

	memcpy(&created, data, size < sizeof(created) ? size : sizeof(created));
	pb = expo_pb__new(&sb);
	if (!pb)
		return 0;
	expo_pb__family(pb, "ns", "c_total", "help", EXPO_PB_COUNTER);
	for (i = 0; i < n; i++) {
		expo_pb__sample(pb, &l[i], 1, (double)i);
		if (created + i)
			expo_pb__created(pb, created + i);
	}
	expo_pb__family(pb, NULL, "h_seconds", NULL, EXPO_PB_HISTOGRAM);
	expo_pb__histogram(pb, l, n ? 1 : 0, bounds, 2, buckets, 1.5, &out);
	if (created)
		expo_pb__created(pb, created);
	if (expo_pb__finish(pb)) {
		expo_pb__free(pb);
		strbuf__free(&sb);
		return 0;
	}
	expo_pb__free(pb);
	for (i = 0; i < 2; i++) {
		mf[i] = read_one(&sb, &pos);
		if (!mf[i])
			abort();
	}
	if (pos != sb.len || mf[0]->n_metric != n)
		abort();
	for (i = 0; i < n; i++) {
		check_label(mf[0]->metric[i]->label[0]->value, l[i].value, l[i].max);
		check_created(mf[0]->metric[i]->counter->created_timestamp, created + i);
	}
	check_created(mf[1]->metric[0]->histogram->created_timestamp, created);
	if (mf[1]->metric[0]->histogram->n_positive_delta != out.ndeltas)
		abort();
	for (i = 0; i < 2; i++)
		io__prometheus__client__metric_family__free_unpacked(mf[i], NULL);
	strbuf__free(&sb);
	return 0;
}

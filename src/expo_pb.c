// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "expo_pb.h"
#include "metrics.pb-c.h"
#include "snapshot.h"

/* Bump allocation for one family's messages, freed at once when it is written. */
#define ARENA_CHUNK (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct expo_pb {
	struct strbuf *out;
	struct arena_chunk *chunks;
	struct strbuf scratch; /* a label value being sanitised */
	Io__Prometheus__Client__MetricFamily mf;
	Io__Prometheus__Client__Metric **metrics;
	size_t nmetrics, cap;
	bool open; /* a family has been started and not written */
	int err;
};

static void *arena_alloc(struct expo_pb *pb, size_t size)
{
	struct arena_chunk *c = pb->chunks;
	size_t align = sizeof(max_align_t), need = (size + align - 1) / align * align, cap;
	void *p;

	if (!c || c->cap - c->used < need) {
		cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c) {
			pb->err = pb->err ? pb->err : -ENOMEM;
			return NULL;
		}
		*c = (struct arena_chunk){.next = pb->chunks, .cap = cap};
		pb->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, size);
	return p;
}

static void arena_free(struct expo_pb *pb)
{
	struct arena_chunk *c, *next;

	for (c = pb->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	pb->chunks = NULL;
}

static char *arena_strdup(struct expo_pb *pb, const char *s, size_t n)
{
	char *p = arena_alloc(pb, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

struct expo_pb *expo_pb__new(struct strbuf *out)
{
	struct expo_pb *pb = calloc(1, sizeof(*pb));

	if (!pb) {
		errno = ENOMEM;
		return NULL;
	}
	pb->out = out;
	return pb;
}

int expo_pb__varint(struct strbuf *sb, uint64_t v)
{
	char buf[10];
	size_t n = 0;

	do {
		buf[n++] = (char)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return strbuf__append(sb, buf, n);
}

/* The family built so far, length-delimited, into out; then forgets it. */
static void write_family(struct expo_pb *pb)
{
	size_t size;

	if (!pb->open)
		return;
	pb->open = false;
	pb->mf.metric = pb->metrics;
	pb->mf.n_metric = pb->nmetrics;
	if (!pb->err) {
		size = protobuf_c_message_get_packed_size(&pb->mf.base);
		if (!expo_pb__varint(pb->out, size) && !strbuf__reserve(pb->out, size)) {
			protobuf_c_message_pack(&pb->mf.base,
						(uint8_t *)pb->out->buf + pb->out->len);
			pb->out->len += size;
			pb->out->buf[pb->out->len] = '\0';
		}
		pb->err = pb->out->err;
	}
	pb->nmetrics = 0;
	arena_free(pb);
}

static char *family_name(struct expo_pb *pb, const char *ns, const char *name)
{
	size_t nl = ns ? strlen(ns) : 0, l = strlen(name);
	char *s = arena_alloc(pb, nl + 1 + l + 1);

	if (!s)
		return NULL;
	if (nl) {
		memcpy(s, ns, nl);
		s[nl++] = '_';
	}
	memcpy(s + nl, name, l);
	return s;
}

static const Io__Prometheus__Client__MetricType pb_types[] = {
	[EXPO_PB_COUNTER] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER,
	[EXPO_PB_GAUGE] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE,
	[EXPO_PB_HISTOGRAM] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM,
	[EXPO_PB_UNTYPED] = IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED,
};

int expo_pb__family(struct expo_pb *pb, const char *ns, const char *name, const char *help,
		    enum expo_pb_type type)
{
	write_family(pb);
	if (pb->err)
		return pb->err;
	io__prometheus__client__metric_family__init(&pb->mf);
	pb->mf.name = family_name(pb, ns, name);
	pb->mf.help = arena_strdup(pb, help ? help : "", help ? strlen(help) : 0);
	pb->mf.has_type = true;
	pb->mf.type = pb_types[type];
	pb->open = true;
	return pb->err;
}

/* A new Metric with its labels, appended to the family; NULL on error. */
static Io__Prometheus__Client__Metric *new_metric(struct expo_pb *pb,
						  const struct expo_label *labels, size_t n)
{
	Io__Prometheus__Client__Metric *m;
	Io__Prometheus__Client__LabelPair *pairs;
	size_t i, off;

	if (pb->err || !pb->open)
		return NULL;
	if (pb->nmetrics == pb->cap) {
		size_t cap = pb->cap ? pb->cap * 2 : 64;
		void *p = realloc(pb->metrics, cap * sizeof(*pb->metrics));

		if (!p) {
			pb->err = -ENOMEM;
			return NULL;
		}
		pb->metrics = p;
		pb->cap = cap;
	}
	m = arena_alloc(pb, sizeof(*m));
	pairs = arena_alloc(pb, n * sizeof(*pairs) + 1);
	if (!m || !pairs)
		return NULL;
	io__prometheus__client__metric__init(m);
	m->label = arena_alloc(pb, n * sizeof(*m->label) + 1);
	if (!m->label)
		return NULL;
	for (i = 0; i < n; i++) {
		io__prometheus__client__label_pair__init(&pairs[i]);
		strbuf__reset(&pb->scratch);
		expo__label_utf8(&pb->scratch, labels[i].value, labels[i].max, labels[i].fallback,
				 &off);
		if (pb->scratch.err) {
			pb->err = pb->scratch.err;
			return NULL;
		}
		pairs[i].name = arena_strdup(pb, labels[i].name, strlen(labels[i].name));
		pairs[i].value = arena_strdup(pb, pb->scratch.buf, pb->scratch.len - 1);
		m->label[i] = &pairs[i];
	}
	if (pb->err)
		return NULL;
	m->n_label = n;
	pb->metrics[pb->nmetrics++] = m;
	return m;
}

int expo_pb__sample(struct expo_pb *pb, const struct expo_label *labels, size_t n, double value)
{
	Io__Prometheus__Client__Metric *m = new_metric(pb, labels, n);
	Io__Prometheus__Client__Counter *c;
	Io__Prometheus__Client__Gauge *g;
	Io__Prometheus__Client__Untyped *u;

	if (!m)
		return pb->err ? pb->err : -EINVAL;
	switch (pb->mf.type) {
	case IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER:
		m->counter = c = arena_alloc(pb, sizeof(*c));
		if (c) {
			io__prometheus__client__counter__init(c);
			c->has_value = true;
			c->value = value;
		}
		break;
	case IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE:
		m->gauge = g = arena_alloc(pb, sizeof(*g));
		if (g) {
			io__prometheus__client__gauge__init(g);
			g->has_value = true;
			g->value = value;
		}
		break;
	default:
		m->untyped = u = arena_alloc(pb, sizeof(*u));
		if (u) {
			io__prometheus__client__untyped__init(u);
			u->has_value = true;
			u->value = value;
		}
		break;
	}
	return pb->err;
}

/* The classic buckets, cumulative; +Inf left out: the count is its value. */
static void classic_buckets(struct expo_pb *pb, Io__Prometheus__Client__Histogram *h,
			    const double *bounds, size_t nbounds, const uint64_t *buckets)
{
	Io__Prometheus__Client__Bucket *b = arena_alloc(pb, nbounds * sizeof(*b) + 1);
	uint64_t cum = 0;
	size_t i;

	h->bucket = arena_alloc(pb, nbounds * sizeof(*h->bucket) + 1);
	if (!b || !h->bucket)
		return;
	for (i = 0; i < nbounds; i++) {
		io__prometheus__client__bucket__init(&b[i]);
		cum = snap_add(cum, buckets[i]);
		b[i].has_cumulative_count = true;
		b[i].cumulative_count = cum;
		b[i].has_upper_bound = true;
		b[i].upper_bound = bounds[i];
		h->bucket[i] = &b[i];
	}
	h->n_bucket = nbounds;
}

static void native_buckets(struct expo_pb *pb, Io__Prometheus__Client__Histogram *h,
			   const struct nhist_out *nh)
{
	Io__Prometheus__Client__BucketSpan *spans =
		arena_alloc(pb, nh->nspans * sizeof(*spans) + 1);
	size_t i;

	h->positive_span = arena_alloc(pb, nh->nspans * sizeof(*h->positive_span) + 1);
	h->positive_delta = arena_alloc(pb, nh->ndeltas * sizeof(*h->positive_delta) + 1);
	if (!spans || !h->positive_span || !h->positive_delta)
		return;
	h->has_schema = h->has_zero_threshold = h->has_zero_count = true;
	h->schema = nh->schema;
	h->zero_threshold = nh->zero_threshold;
	h->zero_count = nh->zero_count;
	for (i = 0; i < nh->nspans; i++) {
		io__prometheus__client__bucket_span__init(&spans[i]);
		spans[i].has_offset = spans[i].has_length = true;
		spans[i].offset = nh->spans[i].offset;
		spans[i].length = nh->spans[i].length;
		h->positive_span[i] = &spans[i];
	}
	h->n_positive_span = nh->nspans;
	memcpy(h->positive_delta, nh->deltas, nh->ndeltas * sizeof(*h->positive_delta));
	h->n_positive_delta = nh->ndeltas;
}

int expo_pb__histogram(struct expo_pb *pb, const struct expo_label *labels, size_t n,
		       const double *bounds, size_t nbounds, const uint64_t *buckets, double sum,
		       const struct nhist_out *native)
{
	Io__Prometheus__Client__Metric *m = new_metric(pb, labels, n);
	Io__Prometheus__Client__Histogram *h;
	uint64_t count = 0;
	size_t i;

	if (!m)
		return pb->err ? pb->err : -EINVAL;
	m->histogram = h = arena_alloc(pb, sizeof(*h));
	if (!h)
		return pb->err;
	io__prometheus__client__histogram__init(h);
	for (i = 0; i <= nbounds; i++)
		count = snap_add(count, buckets[i]);
	h->has_sample_count = h->has_sample_sum = true;
	h->sample_count = count;
	h->sample_sum = sum;
	classic_buckets(pb, h, bounds, nbounds, buckets);
	if (native)
		native_buckets(pb, h, native);
	return pb->err;
}

int expo_pb__created(struct expo_pb *pb, uint64_t ns)
{
	Io__Prometheus__Client__Metric *m = pb->nmetrics ? pb->metrics[pb->nmetrics - 1] : NULL;
	Io__Prometheus__Client__Timestamp *t;

	if (pb->err)
		return pb->err;
	if (!m || (!m->counter && !m->histogram))
		return -EINVAL;
	t = arena_alloc(pb, sizeof(*t));
	if (!t)
		return pb->err;
	io__prometheus__client__timestamp__init(t);
	/* As protobuf's own encoders write the well-known type: zero fields left out. */
	t->seconds = (int64_t)(ns / 1000000000u);
	t->has_seconds = t->seconds != 0;
	t->nanos = (int32_t)(ns % 1000000000u);
	t->has_nanos = t->nanos != 0;
	if (m->counter)
		m->counter->created_timestamp = t;
	else
		m->histogram->created_timestamp = t;
	return 0;
}

int expo_pb__finish(struct expo_pb *pb)
{
	write_family(pb);
	return pb->err;
}

void expo_pb__free(struct expo_pb *pb)
{
	if (!pb)
		return;
	arena_free(pb);
	free(pb->metrics);
	strbuf__free(&pb->scratch);
	free(pb);
}

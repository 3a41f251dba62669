// SPDX-License-Identifier: BSD-2-Clause
/* Counts what the exporter must show, by the rules documented in docs/probes.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"

/* round(b * 1e9) of the default response-time bounds 0.01 ... 25. */
const uint64_t lg_resp_bounds_ns[LG_RESP_BUCKETS] = {
	10000000ULL,   50000000ULL,   100000000ULL,  250000000ULL,   500000000ULL,
	1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL, 25000000000ULL,
};

/* The fixed pool acquisition bounds 0.001 ... 5. */
const uint64_t lg_pool_bounds_ns[LG_POOL_BUCKETS] = {
	1000000ULL,   5000000ULL,   10000000ULL,   50000000ULL,	  100000000ULL,
	250000000ULL, 500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL,
};

/* The default latency bounds: vLLM's time-to-first-token ladder, 0.001 ... 2560 s. */
const uint64_t lg_lat_bounds_ns[LG_LAT_BUCKETS] = {
	1000000ULL,	 5000000ULL,	   10000000ULL,	   20000000ULL,	   40000000ULL,
	60000000ULL,	 80000000ULL,	   100000000ULL,   250000000ULL,   500000000ULL,
	750000000ULL,	 1000000000ULL,	   2500000000ULL,  5000000000ULL,  7500000000ULL,
	10000000000ULL,	 20000000000ULL,   40000000000ULL, 80000000000ULL, 160000000000ULL,
	640000000000ULL, 2560000000000ULL,
};

int tally__bucket(const uint64_t *bounds, int nbounds, uint64_t ns)
{
	int i = 0;

	while (i < nbounds && ns > bounds[i])
		i++;
	return i;
}

struct lg_tally *tally__new(void)
{
	return calloc(1, sizeof(struct lg_tally));
}

static void tally__observe(struct lg_hist *h, const uint64_t *bounds, int nbounds, uint64_t ns,
			   uint64_t n)
{
	int b = tally__bucket(bounds, nbounds, ns);

	h->lo[b] += n;
	h->hi[b] += n;
	h->count += n;
	h->sum_lo_ns += ns * n;
	h->sum_hi_ns += ns * n;
}

/* An observation known to lie in [inner_ns, outer_ns]. */
static void tally__range(struct lg_hist *h, const uint64_t *bounds, int nbounds, uint64_t inner_ns,
			 uint64_t outer_ns)
{
	/* Certainly in the bucket of the outer bound, possibly already in the inner one's. */
	h->lo[tally__bucket(bounds, nbounds, outer_ns)]++;
	h->hi[tally__bucket(bounds, nbounds, inner_ns)]++;
	h->count++;
	h->sum_lo_ns += inner_ns;
	h->sum_hi_ns += outer_ns;
}

static void tally__keep(struct lg_durations *d, struct lg_duration obs)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		struct lg_duration *v = realloc(d->v, cap * sizeof(*v));

		if (!v) {
			d->err = -ENOMEM;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = obs;
}

void tally__usage(struct lg_tally *t, const struct lg_labels *l, const struct ccproxy_usage *u,
		  uint64_t n)
{
	if (u->cost_nusd > CCPROXY_COST_NUSD_MAX)
		return;
	for (int i = 0; i < CCPROXY_TOKEN_TYPES; i++)
		if (u->tokens[i] > CCPROXY_TOKENS_MAX)
			return;
	for (int i = 0; i < CCPROXY_TOKEN_TYPES; i++)
		t->tokens[l->model][l->service][i] += u->tokens[i] * n;
	t->cost_nusd[l->model][l->service] += u->cost_nusd * n;
}

void tally__complete(struct lg_tally *t, const struct lg_labels *l, uint64_t duration_ns,
		     const struct ccproxy_usage *usage, uint64_t n)
{
	t->requests[l->endpoint][l->method][l->model][l->service][l->status] += n;
	if (duration_ns > 0 && duration_ns <= CCPROXY_DURATION_NS_MAX) {
		tally__observe(&t->dur[l->endpoint][l->model][l->service], lg_resp_bounds_ns,
			       LG_RESP_BUCKETS, duration_ns, n);
		tally__keep(&t->durations, (struct lg_duration){.endpoint = l->endpoint,
								.model = l->model,
								.service = l->service,
								.ns = duration_ns,
								.n = n});
	}
	if (usage)
		tally__usage(t, l, usage, n);
}

void tally__measured(struct lg_tally *t, const struct lg_labels *l, uint64_t inner_ns,
		     uint64_t outer_ns)
{
	struct lg_hist *h = &t->dur[l->endpoint][l->model][l->service];

	t->requests[l->endpoint][l->method][l->model][l->service][l->status]++;
	tally__range(h, lg_resp_bounds_ns, LG_RESP_BUCKETS, inner_ns, outer_ns);
}

void tally__latency(struct lg_tally *t, const struct lg_labels *l, enum lg_latency h,
		    uint64_t inner_ns, uint64_t outer_ns)
{
	tally__range(&t->lat[h][l->model][l->service], lg_lat_bounds_ns, LG_LAT_BUCKETS, inner_ns,
		     outer_ns);
}

void tally__stream(struct lg_tally *t, const struct lg_labels *l, uint64_t chunks, uint64_t bytes)
{
	t->chunks[l->model][l->service] += chunks;
	t->bytes[l->model][l->service] += bytes;
}

void tally__provider(struct lg_tally *t, const struct lg_labels *l, int status_idx)
{
	t->provider[l->model][l->service][status_idx]++;
}

void tally__fail(struct lg_tally *t, const struct lg_labels *l, uint64_t n)
{
	t->requests[l->endpoint][l->method][l->model][l->service][LG_ST_ERROR] += n;
	t->errors[LG_ERR_REQUEST][l->endpoint][l->error][l->model][l->service] += n;
}

void tally__provider_error(struct lg_tally *t, const struct lg_labels *l, uint64_t n)
{
	t->errors[LG_ERR_PROVIDER][l->endpoint][l->error][l->model][l->service] += n;
}

void tally__pool(struct lg_tally *t, enum ccproxy_probe_id id, uint64_t wait_ns, uint64_t n)
{
	t->pool[id] += n;
	if (id == CCPROXY_PROBE_pool_acquire && wait_ns <= CCPROXY_DURATION_NS_MAX) {
		tally__observe(&t->pool_wait, lg_pool_bounds_ns, LG_POOL_BUCKETS, wait_ns, n);
		tally__keep(&t->durations, (struct lg_duration){.pool = 1, .ns = wait_ns, .n = n});
	}
}

static void tally__add(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

#define TALLY__ADD(dst, src, field)                                          \
	tally__add((uint64_t *)(dst)->field, (const uint64_t *)(src)->field, \
		   sizeof((src)->field) / sizeof(uint64_t))

void tally__merge(struct lg_tally *dst, const struct lg_tally *src)
{
	TALLY__ADD(dst, src, hits);
	TALLY__ADD(dst, src, requests);
	TALLY__ADD(dst, src, dur);
	TALLY__ADD(dst, src, tokens);
	TALLY__ADD(dst, src, cost_nusd);
	TALLY__ADD(dst, src, errors);
	TALLY__ADD(dst, src, pool);
	tally__add((uint64_t *)&dst->pool_wait, (const uint64_t *)&src->pool_wait,
		   sizeof(src->pool_wait) / sizeof(uint64_t));
	TALLY__ADD(dst, src, lat);
	TALLY__ADD(dst, src, chunks);
	TALLY__ADD(dst, src, bytes);
	TALLY__ADD(dst, src, provider);
	TALLY__ADD(dst, src, cases);
	dst->invalid += src->invalid;
	dst->active += src->active;
	/* --only pool_gauges/info run on workers; in the mix the main thread fires them last. */
	if (src->has_gauges && !dst->has_gauges) {
		dst->has_gauges = 1;
		dst->clients_total = src->clients_total;
		dst->clients_available = src->clients_available;
		dst->clients_active = src->clients_active;
	}
	if (src->version && !dst->version)
		dst->version = src->version;
	for (size_t i = 0; i < src->durations.n; i++)
		tally__keep(&dst->durations, src->durations.v[i]);
	if (src->durations.err)
		dst->durations.err = src->durations.err;
}

void tally__free(struct lg_tally *t)
{
	if (!t)
		return;
	free(t->durations.v);
	free(t);
}

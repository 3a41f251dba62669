// SPDX-License-Identifier: BSD-2-Clause
/*
 * The deterministic event mix. Each thread draws from its own splitmix64 stream seeded from
 * (--seed, thread index) and walks request scenarios shaped like the proxy's hook sequence
 * (docs/probes.md), tallying every hit in its private struct lg_tally.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "fire.h"
#include "mix.h"
#include "tally.h"

/* 62 ASCII bytes, then a 2-byte character that the 63-byte cut splits. */
#define MIX__LONG_PREFIX "claude-3-7-sonnet-extended-thinking-with-a-very-long-model-nam"
_Static_assert(sizeof(MIX__LONG_PREFIX) - 1 == CCPROXY_MODEL_MAX - 2, "long model prefix");
/* Fills the model array exactly: no cut. */
#define MIX__FULL_MODEL "anthropic.claude-sonnet-4-20250514-v1:0-exactly-63-bytes-long--"
_Static_assert(sizeof(MIX__FULL_MODEL) - 1 == CCPROXY_MODEL_MAX - 1, "full model");

const char *const lg_endpoints[LG_ENDPOINTS] = {
	"/v1/messages",	    "/v1/chat/completions",	    "/api/v1/messages",
	"/codex/responses", "/copilot/v1/chat/completions", "",
	"/v1/measured",
};
const char *const lg_methods[LG_METHODS] = {"POST", "GET", "PUT", "DELETE", "", "PROPFIND"};
const char *const lg_models[LG_MODELS] = {
	"claude-sonnet-4-20250514",
	"claude-opus-4-1-20250805",
	"gpt-5-codex",
	"gpt-4o",
	"",
	"odd \"quoted\" \\back\\slash\nnewline",
	/* Invalid UTF-8: lone bytes, truncated sequences, a surrogate, overlongs, > U+10FFFF. */
	"bad-\xff-\xc3(-\xe2\x82-\xf0\x9f\x98-\xed\xa0\x80-\xc0\xaf-\xf4\x90\x80\x80-end",
	MIX__LONG_PREFIX "\xc3\xa9-and-then-some-more-text-that-is-cut",
	MIX__FULL_MODEL,
	"mistral-mod\xc3\xa8le-\xe2\x9c\x93",
};
const char *const lg_services[LG_SERVICES] = {"claude_api", "claude_sdk", "codex", "copilot", ""};
const uint32_t lg_statuses[LG_STATUSES] = {200, 400, 429, 500, 529, 0};
const char *const lg_error_types[LG_ERROR_TYPES] = {
	"TimeoutError",
	"HTTPException",
	"ValidationError",
	"",
	"asyncio.CancelledError",
	"provider_TimeoutError",
	"provider_ConnectError",
	"provider_HTTPStatusError",
	"provider_RateLimitError",
	"provider_AnExceptionClassNameSoLongThatTheErrorTypeArrayMustCutIt",
};

/* The longest scenario fires 11 hits; below this many left, single hits fill the budget. */
#define MIX__SCENARIO_MAX 12

struct mix__state {
	struct lg_tally *t;
	uint64_t rng;
	uint64_t left;	   /* hits left in the budget */
	uint64_t id_base;  /* thread index << 48 */
	uint64_t requests; /* requests started so far: ids and one-off cases */
	int sleeps_left;   /* measured requests that sleep, to land above the first bound */
	uint64_t slept_ns; /* not part of the cost of a hit */
};

static uint64_t mix__splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix__below(struct mix__state *s, uint64_t n)
{
	return mix__splitmix(&s->rng) % n;
}

static uint64_t mix__clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mix__now_ns(void)
{
	return mix__clock_ns(CLOCK_MONOTONIC);
}

static void mix__fire(struct mix__state *s, int id, void *ev)
{
	fire__probe(id, ev);
	s->t->hits[id]++;
	s->left--;
}

static void mix__pick_labels(struct mix__state *s, struct lg_labels *l)
{
	static const uint8_t status_weights[] = {0, 0, 0, 0, 0, 0, 1, 2, 3, 4};

	l->endpoint = mix__below(s, LG_EP_EMPTY + 1);
	l->method = mix__below(s, LG_METHODS);
	l->model = mix__below(s, LG_MODELS);
	l->service = mix__below(s, LG_SERVICES);
	l->status = status_weights[mix__below(s, sizeof(status_weights))];
	l->error = mix__below(s, LG_ERR_FIRST_PROVIDER);
}

/* A request-shaped event; provider events leave method and endpoint empty (the ABI's rule). */
static void mix__event(struct ccproxy_event *ev, const struct lg_labels *l, uint64_t id,
		       int request)
{
	*ev = (struct ccproxy_event)CCPROXY_EVENT_INIT;
	ev->request_id = id;
	if (request) {
		ccproxy_copy_str(ev->labels.method, sizeof(ev->labels.method),
				 lg_methods[l->method]);
		ccproxy_copy_str(ev->labels.endpoint, sizeof(ev->labels.endpoint),
				 lg_endpoints[l->endpoint]);
	}
	ccproxy_copy_str(ev->labels.model, sizeof(ev->labels.model), lg_models[l->model]);
	ccproxy_copy_str(ev->labels.service_type, sizeof(ev->labels.service_type),
			 lg_services[l->service]);
}

/* Some values in every bucket, some exactly on a bound or one past it, a few corrupt. */
static uint64_t mix__spread(struct mix__state *s, const uint64_t *bounds, int n, uint64_t over)
{
	uint64_t r = mix__below(s, 1000);
	uint64_t i = mix__below(s, n), lo;

	if (r == 0) {
		s->t->invalid++;
		return CCPROXY_DURATION_NS_MAX + 1 + mix__below(s, 1000);
	}
	if (r < 200)
		return bounds[i];
	if (r < 300)
		return bounds[i] + 1;
	if (r < 350)
		return bounds[n - 1] + 1 + mix__below(s, over);
	lo = i ? bounds[i - 1] : 0;
	return lo + 1 + mix__below(s, bounds[i] - lo);
}

static uint64_t mix__duration(struct mix__state *s)
{
	if (s->requests == 4) /* once per thread: the largest valid duration */
		return CCPROXY_DURATION_NS_MAX;
	return mix__spread(s, lg_resp_bounds_ns, LG_RESP_BUCKETS, 95000000000ULL);
}

static uint64_t mix__wait(struct mix__state *s)
{
	if (mix__below(s, 10) == 0)
		return 0;
	return mix__spread(s, lg_pool_bounds_ns, LG_POOL_BUCKETS, 20000000000ULL);
}

/* corrupt: whether a corrupt value may be drawn (one per event, so that drops count events). */
static void mix__usage(struct mix__state *s, struct ccproxy_usage *u, int corrupt)
{
	static const uint64_t scale[CCPROXY_TOKEN_TYPES] = {200000, 20000, 100000, 20000};
	uint64_t r = mix__below(s, 1000);

	for (int i = 0; i < CCPROXY_TOKEN_TYPES; i++)
		u->tokens[i] = mix__below(s, 10) < 3 ? 0 : 1 + mix__below(s, scale[i]);
	u->cost_nusd = mix__below(s, 10) < 2 ? 0 : 1 + mix__below(s, 2000000000ULL);
	if (s->requests == 3) { /* once per thread: every value at its limit, still valid */
		u->tokens[CCPROXY_TOKENS_INPUT] = CCPROXY_TOKENS_MAX;
		u->cost_nusd = CCPROXY_COST_NUSD_MAX;
	} else if (r == 0 && corrupt) {
		u->tokens[mix__below(s, CCPROXY_TOKEN_TYPES)] = CCPROXY_TOKENS_MAX + 1;
		s->t->invalid++;
	} else if (r == 1 && corrupt) {
		u->cost_nusd = CCPROXY_COST_NUSD_MAX + 1;
		s->t->invalid++;
	}
}

static void mix__pool(struct mix__state *s, int id, uint64_t wait_ns)
{
	struct ccproxy_pool_event pev = CCPROXY_POOL_EVENT_INIT;

	pev.wait_ns = wait_ns;
	if (id == CCPROXY_PROBE_pool_gauges) {
		pev.clients_total = 1 + mix__below(s, 32);
		pev.clients_active = mix__below(s, pev.clients_total + 1);
		pev.clients_available = pev.clients_total - pev.clients_active;
	}
	mix__fire(s, id, &pev);
	if (id != CCPROXY_PROBE_pool_gauges)
		tally__pool(s->t, id, wait_ns, 1);
}

static uint64_t mix__start(struct mix__state *s, struct ccproxy_event *ev,
			   const struct lg_labels *l)
{
	uint64_t id = s->id_base | s->requests++;

	mix__event(ev, l, id, 1);
	mix__fire(s, CCPROXY_PROBE_request_start, ev);
	s->t->active++;
	return id;
}

static void mix__provider(struct mix__state *s, int id, const struct lg_labels *l, uint64_t rid)
{
	struct ccproxy_event ev;

	mix__event(&ev, l, rid, 0);
	if (id == CCPROXY_PROBE_provider_response_received)
		ev.status = lg_statuses[l->status];
	mix__fire(s, id, &ev);
}

static void mix__provider_error(struct mix__state *s, struct lg_labels l, uint64_t rid)
{
	struct ccproxy_event ev;

	if (mix__below(s, 5) < 2)
		l.endpoint = LG_EP_EMPTY;
	l.error = LG_ERR_FIRST_PROVIDER + mix__below(s, LG_ERROR_TYPES - LG_ERR_FIRST_PROVIDER);
	mix__event(&ev, &l, rid, 0);
	ccproxy_copy_str(ev.labels.endpoint, sizeof(ev.labels.endpoint), lg_endpoints[l.endpoint]);
	ccproxy_copy_str(ev.error_type, sizeof(ev.error_type), lg_error_types[l.error]);
	mix__fire(s, CCPROXY_PROBE_provider_error, &ev);
	tally__provider_error(s->t, &l, 1);
}

/* start, [acquire], sent, received, [release], complete with a duration and usage. */
static void mix__plain(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;
	int pooled = mix__below(s, 10) < 7;
	uint64_t id = mix__start(s, &ev, l);

	if (pooled)
		mix__pool(s, CCPROXY_PROBE_pool_acquire, mix__wait(s));
	mix__provider(s, CCPROXY_PROBE_provider_request_sent, l, id);
	mix__provider(s, CCPROXY_PROBE_provider_response_received, l, id);
	if (pooled)
		mix__pool(s, CCPROXY_PROBE_pool_release, 0);
	mix__event(&ev, l, id, 1);
	ev.status = lg_statuses[l->status];
	ev.duration_ns = mix__duration(s);
	mix__usage(s, &ev.usage, ev.duration_ns <= CCPROXY_DURATION_NS_MAX);
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	s->t->active--;
	tally__complete(s->t, l, ev.duration_ns, &ev.usage, 1);
}

/* duration_ns = 0: the kernel measures start..complete, which lies in [t2 - t1, t3 - t0]. */
static void mix__measured(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;
	uint64_t t0, t1, t2, t3, id;

	l->endpoint = LG_EP_MEASURED;
	t0 = mix__now_ns();
	id = mix__start(s, &ev, l);
	t1 = mix__now_ns();
	if (s->sleeps_left > 0) {
		struct timespec ts = {0, 12000000};

		s->sleeps_left--;
		nanosleep(&ts, NULL);
		s->slept_ns += mix__now_ns() - t1;
	}
	mix__event(&ev, l, id, 1);
	ev.status = lg_statuses[l->status];
	mix__usage(s, &ev.usage, 1);
	t2 = mix__now_ns();
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	t3 = mix__now_ns();
	s->t->active--;
	tally__measured(s->t, l, t2 - t1, t3 - t0);
	tally__usage(s->t, l, &ev.usage, 1);
}

/* A completion whose start the tracer never saw: counted, no duration. */
static void mix__orphan(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;

	mix__event(&ev, l, s->id_base | s->requests++, 1);
	ev.status = lg_statuses[l->status];
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	tally__complete(s->t, l, 0, NULL, 1);
}

/* start, sent, received, stream start, chunks, end with usage, complete without usage. */
static void mix__stream(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;
	uint64_t id = mix__start(s, &ev, l), chunks = 1 + mix__below(s, 5);

	l->status = 0;
	mix__provider(s, CCPROXY_PROBE_provider_request_sent, l, id);
	mix__provider(s, CCPROXY_PROBE_provider_response_received, l, id);
	mix__provider(s, CCPROXY_PROBE_provider_stream_start, l, id);
	for (uint64_t i = 0; i < chunks; i++) {
		mix__event(&ev, l, id, 0);
		ev.bytes = 1 + mix__below(s, 16384);
		mix__fire(s, CCPROXY_PROBE_provider_stream_chunk, &ev);
	}
	mix__event(&ev, l, id, 0);
	mix__usage(s, &ev.usage, 1);
	mix__fire(s, CCPROXY_PROBE_provider_stream_end, &ev);
	tally__usage(s->t, l, &ev.usage, 1);
	mix__event(&ev, l, id, 1);
	ev.status = 200;
	ev.duration_ns = mix__duration(s);
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	s->t->active--;
	tally__complete(s->t, l, ev.duration_ns, NULL, 1);
}

/* start, [sent], [provider_error], request_fail. */
static void mix__failed(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;
	uint64_t id = mix__start(s, &ev, l);

	if (mix__below(s, 2))
		mix__provider(s, CCPROXY_PROBE_provider_request_sent, l, id);
	if (mix__below(s, 2))
		mix__provider_error(s, *l, id);
	mix__event(&ev, l, id, 1);
	ccproxy_copy_str(ev.error_type, sizeof(ev.error_type), lg_error_types[l->error]);
	mix__fire(s, CCPROXY_PROBE_request_fail, &ev);
	s->t->active--;
	tally__fail(s->t, l, 1);
}

static void mix__housekeeping(struct mix__state *s)
{
	static const int ids[] = {
		CCPROXY_PROBE_pool_connection_created,
		CCPROXY_PROBE_pool_connection_closed,
		CCPROXY_PROBE_pool_health_check_failed,
		CCPROXY_PROBE_pool_gauges,
		CCPROXY_PROBE_pool_acquire,
	};
	int id = ids[mix__below(s, sizeof(ids) / sizeof(ids[0]))];

	if (id != CCPROXY_PROBE_pool_acquire) {
		mix__pool(s, id, 0);
		return;
	}
	mix__pool(s, id, mix__wait(s));
	mix__pool(s, CCPROXY_PROBE_pool_release, 0);
}

static void mix__scenario(struct mix__state *s)
{
	struct lg_labels l;
	uint64_t r = mix__below(s, 1000);

	mix__pick_labels(s, &l);
	if (r < 30)
		mix__measured(s, &l);
	else if (r < 35)
		mix__orphan(s, &l);
	else if (r < 450)
		mix__plain(s, &l);
	else if (r < 650)
		mix__stream(s, &l);
	else if (r < 800)
		mix__failed(s, &l);
	else if (r < 880)
		mix__provider_error(s, l, 0);
	else
		mix__housekeeping(s);
}

/* Single hits that end the budget exactly. */
static void mix__filler(struct mix__state *s)
{
	static const int ids[] = {
		CCPROXY_PROBE_pool_connection_created,
		CCPROXY_PROBE_provider_stream_chunk,
		CCPROXY_PROBE_pool_release,
		CCPROXY_PROBE_pool_gauges,
		CCPROXY_PROBE_provider_request_sent,
	};
	int id = ids[mix__below(s, sizeof(ids) / sizeof(ids[0]))];
	struct lg_labels l;

	if (id >= CCPROXY_PROBE_pool_acquire) {
		mix__pool(s, id, 0);
		return;
	}
	mix__pick_labels(s, &l);
	mix__provider(s, id, &l, 0);
}

static void mix__info(struct lg_tally *t)
{
	struct ccproxy_info_event iev = CCPROXY_INFO_EVENT_INIT;

	ccproxy_copy_str(iev.version, sizeof(iev.version), LG_VERSION);
	fire__probe(CCPROXY_PROBE_info, &iev);
	t->hits[CCPROXY_PROBE_info]++;
	t->version = LG_VERSION;
}

/* Returns the time spent sleeping. */
static uint64_t mix__run_mix(struct lg_worker *w)
{
	struct mix__state s = {
		.t = w->tally,
		.rng = w->seed ^ (0x9e3779b97f4a7c15ULL * (w->index + 1)),
		.left = w->budget,
		.id_base = (uint64_t)w->index << 48,
		.sleeps_left = 1,
	};

	mix__splitmix(&s.rng);
	if (s.left) {
		mix__info(s.t);
		s.left--;
	}
	while (s.left >= MIX__SCENARIO_MAX)
		mix__scenario(&s);
	while (s.left)
		mix__filler(&s);
	return s.slept_ns;
}

/* --only: the same fixed labels on every hit. */
static void mix__only_event(int id, struct ccproxy_event *ev, struct lg_labels *l)
{
	*l = (struct lg_labels){.error = id == CCPROXY_PROBE_provider_error ? LG_ERR_FIRST_PROVIDER
									    : 0};
	mix__event(ev, l, 0, id < CCPROXY_PROBE_provider_request_sent);
	ev->status = lg_statuses[l->status];
	ev->duration_ns = 123456789;
	ev->bytes = 512;
	ev->usage = (struct ccproxy_usage){.tokens = {1200, 350, 4000, 0}, .cost_nusd = 4200000};
	ccproxy_copy_str(ev->error_type, sizeof(ev->error_type), lg_error_types[l->error]);
	if (id == CCPROXY_PROBE_provider_error)
		l->endpoint = LG_EP_EMPTY; /* provider events carry no endpoint: renders as "/" */
}

static void mix__only_tally(struct lg_tally *t, int id, const struct ccproxy_event *ev,
			    const struct lg_labels *l, uint64_t n)
{
	t->hits[id] += n;
	switch (id) {
	case CCPROXY_PROBE_request_start:
		t->active += n;
		break;
	case CCPROXY_PROBE_request_complete:
		tally__complete(t, l, ev->duration_ns, &ev->usage, n);
		break;
	case CCPROXY_PROBE_request_fail:
		tally__fail(t, l, n);
		break;
	case CCPROXY_PROBE_provider_error:
		tally__provider_error(t, l, n);
		break;
	case CCPROXY_PROBE_provider_stream_end:
		tally__usage(t, l, &ev->usage, n);
		break;
	}
}

static void mix__only_tally_pool(struct lg_tally *t, int id, const struct ccproxy_pool_event *pev,
				 uint64_t n)
{
	if (!n)
		return;
	if (id >= CCPROXY_PROBE_pool_acquire && id < CCPROXY_PROBE_pool_gauges)
		tally__pool(t, id, pev->wait_ns, n);
	if (id == CCPROXY_PROBE_pool_gauges) {
		t->has_gauges = 1;
		t->clients_total = pev->clients_total;
		t->clients_available = pev->clients_available;
		t->clients_active = pev->clients_active;
	}
	if (id == CCPROXY_PROBE_info)
		t->version = LG_VERSION;
}

static void mix__run_only(struct lg_worker *w)
{
	struct ccproxy_event ev;
	struct ccproxy_pool_event pev = CCPROXY_POOL_EVENT_INIT;
	struct ccproxy_info_event iev = CCPROXY_INFO_EVENT_INIT;
	struct lg_labels l;
	void *arg = &ev;
	uint64_t t0, c0;

	mix__only_event(w->only, &ev, &l);
	pev.wait_ns = 250000;
	pev.clients_total = 8;
	pev.clients_available = 5;
	pev.clients_active = 3;
	ccproxy_copy_str(iev.version, sizeof(iev.version), LG_VERSION);
	if (w->only >= CCPROXY_PROBE_pool_acquire)
		arg = &pev;
	if (w->only == CCPROXY_PROBE_info)
		arg = &iev;

	t0 = mix__now_ns();
	c0 = mix__clock_ns(CLOCK_THREAD_CPUTIME_ID);
	fire__loop(w->only, arg, (uint64_t)w->index << 48, w->budget);
	/* On a shared machine the wall clock also counts the time other tasks ran. */
	w->cpu_ns = mix__clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->elapsed_ns = mix__now_ns() - t0;

	mix__only_tally(w->tally, w->only, &ev, &l, w->budget);
	mix__only_tally_pool(w->tally, w->only, &pev, w->budget);
}

static int mix__pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

void *mix__run(void *worker)
{
	struct lg_worker *w = worker;
	uint64_t t0, slept;

	if (w->pin_cpu0) {
		w->err = mix__pin_cpu0();
		if (w->err)
			return NULL;
	}
	if (w->only >= 0) {
		mix__run_only(w);
	} else {
		t0 = mix__now_ns();
		slept = mix__run_mix(w);
		w->elapsed_ns = mix__now_ns() - t0 - slept;
	}
	w->fired = w->budget;
	return NULL;
}

uint64_t mix__prologue(struct lg_tally *t, uint64_t k)
{
	struct ccproxy_event ev;
	struct lg_labels l = {.endpoint = 0, .model = 0, .service = 0};

	mix__info(t);
	for (uint64_t i = 0; i < k; i++) {
		mix__event(&ev, &l, i, 1);
		fire__probe(CCPROXY_PROBE_request_start, &ev);
	}
	t->hits[CCPROXY_PROBE_request_start] += k;
	t->active += k;
	return 1 + k;
}

uint64_t mix__epilogue(struct lg_tally *t, uint64_t seed)
{
	struct ccproxy_pool_event pev = CCPROXY_POOL_EVENT_INIT;

	pev.clients_total = 4 + seed % 29;
	pev.clients_active = seed % (pev.clients_total + 1);
	pev.clients_available = pev.clients_total - pev.clients_active;
	fire__probe(CCPROXY_PROBE_pool_gauges, &pev);
	t->hits[CCPROXY_PROBE_pool_gauges]++;
	t->has_gauges = 1;
	t->clients_total = pev.clients_total;
	t->clients_available = pev.clients_available;
	t->clients_active = pev.clients_active;
	return 1;
}

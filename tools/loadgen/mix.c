// SPDX-License-Identifier: BSD-2-Clause
/*
 * The deterministic event mix. Each thread draws from its own splitmix64 stream seeded from
 * (--seed, thread index) and walks request scenarios shaped like the proxy's hook sequence
 * (docs/probes.md), tallying every hit in its private struct lg_tally.
 */
#include <errno.h>
#include <pthread.h>
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

/* The longest scenario fires 13 hits; below this many left, single hits fill the budget. */
#define MIX__SCENARIO_MAX 14

struct mix__state {
	struct lg_tally *t;
	uint64_t rng;
	uint64_t left;	   /* hits left in the budget */
	uint64_t id_base;  /* thread index << 48 */
	uint64_t requests; /* requests started so far: ids and one-off cases */
	int sleeps_left;   /* measured requests that sleep, to land above the first bound */
	int ttft_sleeps;   /* streams that wait before their first chunk (mix__ttft_delays) */
	int tpot_sleeps;   /* streams that wait between their first chunk and their end */
	uint64_t slept_ns; /* not part of the cost of a hit */
};

/*
 * When a probe hit happened as far as this thread can tell: the BPF program's
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC) lies in [b, a].
 */
struct mix__span {
	uint64_t b, a;
};

/* First-chunk delays of a thread's first streams: latencies above the first bound. */
static const uint64_t mix__ttft_delays[] = {2000000, 12000000, 50000000};
#define MIX__TPOT_DELAY_NS 30000000ULL
#define MIX__TPOT_TOKENS   4

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

static void mix__fire_at(struct mix__state *s, int id, void *ev, struct mix__span *at)
{
	at->b = mix__now_ns();
	mix__fire(s, id, ev);
	at->a = mix__now_ns();
}

/* The kernel-measured time from hit x to the later hit y: [inner, outer]. */
static void mix__between(const struct mix__span *x, const struct mix__span *y, uint64_t *inner,
			 uint64_t *outer)
{
	*inner = y->b > x->a ? y->b - x->a : 0;
	*outer = y->a - x->b;
}

/* Sleeps ns, and leaves the time out of the cost of a hit. */
static void mix__sleep(struct mix__state *s, uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
	uint64_t t0 = mix__now_ns();

	nanosleep(&ts, NULL);
	s->slept_ns += mix__now_ns() - t0;
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
			   const struct lg_labels *l, struct mix__span *at)
{
	uint64_t id = s->id_base | s->requests++;
	struct mix__span ignored;

	mix__event(ev, l, id, 1);
	mix__fire_at(s, CCPROXY_PROBE_request_start, ev, at ? at : &ignored);
	s->t->active++;
	return id;
}

/* A provider event of request rid; provider_response_received carries l->status. */
static void mix__provider_at(struct mix__state *s, int id, const struct lg_labels *l, uint64_t rid,
			     struct mix__span *at)
{
	struct ccproxy_event ev;
	struct mix__span ignored;

	mix__event(&ev, l, rid, 0);
	if (id == CCPROXY_PROBE_provider_response_received) {
		ev.status = lg_statuses[l->status];
		tally__provider(s->t, l, l->status);
	}
	mix__fire_at(s, id, &ev, at ? at : &ignored);
}

static void mix__provider(struct mix__state *s, int id, const struct lg_labels *l, uint64_t rid)
{
	mix__provider_at(s, id, l, rid, NULL);
}

/* Proxy overhead of a request of duration d whose provider time is in [p_in, p_out]. */
static void mix__overhead(struct lg_tally *t, const struct lg_labels *l, uint64_t d, uint64_t p_in,
			  uint64_t p_out)
{
	if (!d || d > CCPROXY_DURATION_NS_MAX)
		return; /* no duration observed: no overhead either */
	tally__latency(t, l, LG_LAT_OVERHEAD, d > p_out ? d - p_out : 0, d > p_in ? d - p_in : 0);
}

/* Whether the exporter believes a usage block (docs/probes.md: Limits). */
static int mix__usage_ok(const struct ccproxy_usage *u)
{
	for (int i = 0; i < CCPROXY_TOKEN_TYPES; i++)
		if (u->tokens[i] > CCPROXY_TOKENS_MAX)
			return 0;
	return u->cost_nusd <= CCPROXY_COST_NUSD_MAX;
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
	struct mix__span sent, recv;
	int pooled = mix__below(s, 10) < 7;
	uint64_t id = mix__start(s, &ev, l, NULL), p_in, p_out;

	if (pooled)
		mix__pool(s, CCPROXY_PROBE_pool_acquire, mix__wait(s));
	mix__provider_at(s, CCPROXY_PROBE_provider_request_sent, l, id, &sent);
	mix__provider_at(s, CCPROXY_PROBE_provider_response_received, l, id, &recv);
	if (pooled)
		mix__pool(s, CCPROXY_PROBE_pool_release, 0);
	mix__event(&ev, l, id, 1);
	ev.status = lg_statuses[l->status];
	ev.duration_ns = mix__duration(s);
	mix__usage(s, &ev.usage, ev.duration_ns <= CCPROXY_DURATION_NS_MAX);
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	s->t->active--;
	tally__complete(s->t, l, ev.duration_ns, &ev.usage, 1);
	mix__between(&sent, &recv, &p_in, &p_out);
	tally__latency(s->t, l, LG_LAT_PROVIDER, p_in, p_out);
	mix__overhead(s->t, l, ev.duration_ns, p_in, p_out);
}

/* duration_ns = 0: the kernel measures start..complete, which lies in [t2 - t1, t3 - t0]. */
static void mix__measured(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;
	uint64_t t0, t1, t2, t3, id;

	l->endpoint = LG_EP_MEASURED;
	t0 = mix__now_ns();
	id = mix__start(s, &ev, l, NULL);
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

/* How a stream ends (docs/probes.md: which requests each latency family skips). */
enum mix__stream_kind {
	MIX__STREAM_FULL = LG_CASE_STREAM_FULL,		/* chunks, stream end, complete */
	MIX__STREAM_NO_CHUNK = LG_CASE_STREAM_NO_CHUNK, /* stream start and end, complete */
	MIX__STREAM_NO_END = LG_CASE_STREAM_NO_END,	/* chunks, complete with usage */
	MIX__STREAM_FAILED = LG_CASE_STREAM_FAILED,	/* chunks, then request_fail */
};

static enum mix__stream_kind mix__stream_kind(struct mix__state *s)
{
	uint64_t r = mix__below(s, 20);

	if (r < 14)
		return MIX__STREAM_FULL;
	if (r < 16)
		return MIX__STREAM_NO_CHUNK;
	return r < 18 ? MIX__STREAM_NO_END : MIX__STREAM_FAILED;
}

/* Sent, once in five rate limited (429 or 529) and sent again, then a 200 response. */
static void mix__send(struct mix__state *s, const struct lg_labels *l, uint64_t id,
		      struct mix__span *sent)
{
	struct lg_labels limited = *l;

	mix__provider_at(s, CCPROXY_PROBE_provider_request_sent, l, id, sent);
	if (mix__below(s, 5) == 0) {
		s->t->cases[LG_CASE_RATE_LIMITED]++;
		limited.status = mix__below(s, 2) ? 2 : 4; /* lg_statuses: 429, 529 */
		mix__provider(s, CCPROXY_PROBE_provider_response_received, &limited, id);
		mix__provider(s, CCPROXY_PROBE_provider_request_sent, l, id);
	}
	mix__provider(s, CCPROXY_PROBE_provider_response_received, l, id);
}

/* chunks provider_stream_chunk hits; the first one's span in *first. Returns their bytes. */
static uint64_t mix__chunks(struct mix__state *s, const struct lg_labels *l, uint64_t id,
			    uint64_t chunks, struct mix__span *first)
{
	struct ccproxy_event ev;
	uint64_t bytes = 0;

	if (chunks && s->ttft_sleeps < (int)(sizeof(mix__ttft_delays) / sizeof(uint64_t)))
		mix__sleep(s, mix__ttft_delays[s->ttft_sleeps++]);
	for (uint64_t i = 0; i < chunks; i++) {
		struct mix__span at;

		mix__event(&ev, l, id, 0);
		ev.bytes = 1 + mix__below(s, 16384);
		bytes += ev.bytes;
		mix__fire_at(s, CCPROXY_PROBE_provider_stream_chunk, &ev, &at);
		if (!i)
			*first = at;
	}
	return bytes;
}

/*
 * [provider_error], request_fail: how a started request fails, streamed or not. A failed
 * stream's TTFT, chunks and bytes count; nothing that needs an end does.
 */
static void mix__stream_fail(struct mix__state *s, struct lg_labels *l, uint64_t id)
{
	struct ccproxy_event ev;

	if (mix__below(s, 2))
		mix__provider_error(s, *l, id);
	mix__event(&ev, l, id, 1);
	ccproxy_copy_str(ev.error_type, sizeof(ev.error_type), lg_error_types[l->error]);
	mix__fire(s, CCPROXY_PROBE_request_fail, &ev);
	s->t->active--;
	tally__fail(s->t, l, 1);
}

/* Stream end with usage; returns the output tokens the exporter takes from it (0: none). */
static uint64_t mix__stream_end(struct mix__state *s, const struct lg_labels *l, uint64_t id,
				uint64_t chunks, struct mix__span *end)
{
	struct ccproxy_event ev;
	int tpot_sleep = chunks && s->tpot_sleeps > 0;

	mix__event(&ev, l, id, 0);
	mix__usage(s, &ev.usage, 1);
	if (tpot_sleep) {
		s->tpot_sleeps--;
		ev.usage = (struct ccproxy_usage){.tokens = {10, MIX__TPOT_TOKENS}};
		mix__sleep(s, MIX__TPOT_DELAY_NS);
	}
	mix__fire_at(s, CCPROXY_PROBE_provider_stream_end, &ev, end);
	tally__usage(s->t, l, &ev.usage, 1);
	return mix__usage_ok(&ev.usage) ? ev.usage.tokens[CCPROXY_TOKENS_OUTPUT] : 0;
}

/*
 * start, sent (maybe rate limited and sent again), received, stream start, chunks, end with
 * usage, complete without usage; or one of the other endings of enum mix__stream_kind.
 */
static void mix__stream(struct mix__state *s, struct lg_labels *l)
{
	enum mix__stream_kind kind = mix__stream_kind(s);
	struct mix__span start, sent, first = {0}, end = {0};
	struct ccproxy_event ev;
	uint64_t id = mix__start(s, &ev, l, &start), out = 0, lo, hi;
	uint64_t chunks = kind == MIX__STREAM_NO_CHUNK ? 0 : 1 + mix__below(s, 5), bytes;

	l->status = 0;
	s->t->cases[kind]++; /* enum mix__stream_kind follows enum lg_case */
	mix__send(s, l, id, &sent);
	mix__provider(s, CCPROXY_PROBE_provider_stream_start, l, id);
	bytes = mix__chunks(s, l, id, chunks, &first);
	tally__stream(s->t, l, chunks, bytes);
	if (chunks) {
		mix__between(&start, &first, &lo, &hi);
		tally__latency(s->t, l, LG_LAT_TTFT, lo, hi);
	}
	if (kind == MIX__STREAM_FAILED) {
		mix__stream_fail(s, l, id);
		return;
	}
	if (kind != MIX__STREAM_NO_END)
		out = mix__stream_end(s, l, id, chunks, &end);
	mix__event(&ev, l, id, 1);
	ev.status = 200;
	ev.duration_ns = mix__duration(s);
	if (kind == MIX__STREAM_NO_END) /* the usage comes with the completion */
		mix__usage(s, &ev.usage, ev.duration_ns <= CCPROXY_DURATION_NS_MAX);
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	s->t->active--;
	tally__complete(s->t, l, ev.duration_ns, &ev.usage, 1);
	if (kind == MIX__STREAM_NO_END)
		return; /* no provider end: no provider time, overhead or time per token */
	mix__between(&sent, &end, &lo, &hi);
	tally__latency(s->t, l, LG_LAT_PROVIDER, lo, hi);
	mix__overhead(s->t, l, ev.duration_ns, lo, hi);
	if (chunks && out >= 2) {
		mix__between(&first, &end, &lo, &hi);
		tally__latency(s->t, l, LG_LAT_TPOT, lo / (out - 1), hi / (out - 1));
	}
}

/* start, [sent], [provider_error], request_fail. */
static void mix__failed(struct mix__state *s, struct lg_labels *l)
{
	struct ccproxy_event ev;
	uint64_t id = mix__start(s, &ev, l, NULL);

	if (mix__below(s, 2))
		mix__provider(s, CCPROXY_PROBE_provider_request_sent, l, id);
	mix__stream_fail(s, l, id);
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
		.tpot_sleeps = 1,
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
	case CCPROXY_PROBE_provider_response_received:
		t->provider[l->model][l->service][l->status] += n;
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
	int tracked;

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

	/* The provider probes look their request up: they hit one that is in flight. */
	tracked = w->only >= CCPROXY_PROBE_provider_request_sent &&
		  w->only <= CCPROXY_PROBE_provider_stream_end &&
		  w->only != CCPROXY_PROBE_provider_error;
	if (tracked && fire__enabled(CCPROXY_PROBE_request_start)) {
		ev.request_id = (uint64_t)w->index << 48;
		fire__probe(CCPROXY_PROBE_request_start, &ev);
		w->tally->hits[CCPROXY_PROBE_request_start]++;
		w->tally->active++;
	}
	t0 = mix__now_ns();
	c0 = mix__clock_ns(CLOCK_THREAD_CPUTIME_ID);
	fire__loop(w->only, arg, (uint64_t)w->index << 48, tracked ? 0 : ~0ULL, w->budget);
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

/*
 * Streams whose chunks arrive from several threads at once: the main thread starts them and
 * ends them, MIX__SHARED_HELPERS threads fire their chunks, interleaved, from one barrier.
 */
#define MIX__SHARED_STREAMS 8
#define MIX__SHARED_HELPERS 2
#define MIX__SHARED_CHUNKS  16 /* per helper and stream: long enough for the helpers to overlap */
#define MIX__SHARED_HITS    (6 + MIX__SHARED_HELPERS * MIX__SHARED_CHUNKS) /* per stream */
#define MIX__SHARED_ID	    (0xffffULL << 48)

struct mix__helper {
	pthread_barrier_t *go;
	uint64_t n; /* streams */
	unsigned int index;
	struct mix__span first[MIX__SHARED_STREAMS]; /* its first chunk of each stream */
	uint64_t bytes[MIX__SHARED_STREAMS];
};

static void *mix__helper_run(void *arg)
{
	struct mix__helper *h = arg;
	struct ccproxy_event ev;
	struct lg_labels l = {0};

	pthread_barrier_wait(h->go);
	for (uint64_t c = 0; c < MIX__SHARED_CHUNKS; c++)
		for (uint64_t i = 0; i < h->n; i++) {
			struct mix__span at;

			mix__event(&ev, &l, MIX__SHARED_ID | i, 0);
			ev.bytes = 100 * (h->index + 1) + 10 * i + c;
			h->bytes[i] += ev.bytes;
			at.b = mix__now_ns();
			fire__probe(CCPROXY_PROBE_provider_stream_chunk, &ev);
			at.a = mix__now_ns();
			if (!c)
				h->first[i] = at;
		}
	return NULL;
}

uint64_t mix__shared_hits(uint64_t budget)
{
	uint64_t n = budget / (2 * MIX__SHARED_HITS);

	return (n < MIX__SHARED_STREAMS ? n : MIX__SHARED_STREAMS) * MIX__SHARED_HITS;
}

static void mix__shared_labels(struct lg_labels *l, uint64_t i)
{
	*l = (struct lg_labels){.model = i % 4, .service = i % 4};
}

/* Ends stream i: TTFT from the earliest helper's first chunk, the other families as usual. */
static void mix__shared_end(struct mix__state *s, uint64_t i, const struct mix__span *start,
			    const struct mix__span *sent, const struct mix__helper *h)
{
	struct mix__span first = h[0].first[i], end;
	struct ccproxy_event ev;
	struct lg_labels l;
	uint64_t lo, hi, bytes = 0, out = 3 + i;

	mix__shared_labels(&l, i);
	for (int k = 0; k < MIX__SHARED_HELPERS; k++) {
		first.b = h[k].first[i].b < first.b ? h[k].first[i].b : first.b;
		first.a = h[k].first[i].a < first.a ? h[k].first[i].a : first.a;
		bytes += h[k].bytes[i];
	}
	mix__event(&ev, &l, MIX__SHARED_ID | i, 0);
	ev.usage = (struct ccproxy_usage){.tokens = {100, out}};
	mix__fire_at(s, CCPROXY_PROBE_provider_stream_end, &ev, &end);
	tally__usage(s->t, &l, &ev.usage, 1);
	mix__event(&ev, &l, MIX__SHARED_ID | i, 1);
	ev.status = 200;
	ev.duration_ns = 1000000000ULL + i;
	mix__fire(s, CCPROXY_PROBE_request_complete, &ev);
	s->t->active--;
	tally__complete(s->t, &l, ev.duration_ns, NULL, 1);
	tally__stream(s->t, &l, MIX__SHARED_HELPERS * MIX__SHARED_CHUNKS, bytes);
	mix__between(start, &first, &lo, &hi);
	tally__latency(s->t, &l, LG_LAT_TTFT, lo, hi);
	mix__between(sent, &end, &lo, &hi);
	tally__latency(s->t, &l, LG_LAT_PROVIDER, lo, hi);
	mix__overhead(s->t, &l, ev.duration_ns, lo, hi);
	mix__between(&first, &end, &lo, &hi);
	tally__latency(s->t, &l, LG_LAT_TPOT, lo / (out - 1), hi / (out - 1));
}

int mix__shared(struct lg_tally *t, uint64_t hits)
{
	struct mix__state s = {.t = t, .left = hits};
	struct mix__span start[MIX__SHARED_STREAMS], sent[MIX__SHARED_STREAMS];
	struct mix__helper h[MIX__SHARED_HELPERS] = {0};
	pthread_t tid[MIX__SHARED_HELPERS];
	pthread_barrier_t go;
	struct ccproxy_event ev;
	struct lg_labels l;
	uint64_t n = hits / MIX__SHARED_HITS;
	int k, started = 0, err = 0;

	if (!n)
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		mix__shared_labels(&l, i);
		mix__event(&ev, &l, MIX__SHARED_ID | i, 1);
		mix__fire_at(&s, CCPROXY_PROBE_request_start, &ev, &start[i]);
		t->active++;
		mix__provider_at(&s, CCPROXY_PROBE_provider_request_sent, &l, MIX__SHARED_ID | i,
				 &sent[i]);
		mix__provider(&s, CCPROXY_PROBE_provider_response_received, &l, MIX__SHARED_ID | i);
		mix__provider(&s, CCPROXY_PROBE_provider_stream_start, &l, MIX__SHARED_ID | i);
	}
	err = -pthread_barrier_init(&go, NULL, MIX__SHARED_HELPERS);
	for (k = 0; !err && k < MIX__SHARED_HELPERS; k++, started++) {
		h[k] = (struct mix__helper){.go = &go, .n = n, .index = k};
		err = -pthread_create(&tid[k], NULL, mix__helper_run, &h[k]);
	}
	if (err && started < MIX__SHARED_HELPERS)
		return err; /* a helper waits at the barrier forever: the caller exits */
	for (k = 0; k < started; k++)
		pthread_join(tid[k], NULL);
	pthread_barrier_destroy(&go);
	t->hits[CCPROXY_PROBE_provider_stream_chunk] +=
		n * MIX__SHARED_HELPERS * MIX__SHARED_CHUNKS;
	t->cases[LG_CASE_STREAM_SHARED] += n;
	for (uint64_t i = 0; i < n; i++)
		mix__shared_end(&s, i, &start[i], &sent[i], h);
	return 0;
}

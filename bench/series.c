// SPDX-License-Identifier: BSD-2-Clause
/*
 * ccproxy-bench-series: a probe target for the scrape and memory benchmarks. It fires
 * request_complete with N distinct label sets (endpoint "/v1/bench/<i>"), so that an attached
 * exporter holds N requests_total series and N response-time histograms, then fires at a set
 * rate on request. It reads commands from stdin, one a line, and answers each on stdout:
 *
 *	seed N             fire N events, label set i = 0 .. N-1 once each
 *	                   -> "ok EVENTS NS"
 *	rate N R SECONDS   fire R events a second for SECONDS, cycling through label sets 0 .. N-1
 *	                   -> "ok EVENTS NS"
 *
 * and exits at end of input. The caller attaches a tracer before the first command: the
 * probe has one site, so a raised semaphore means the tracer sees every hit.
 */
#define CCPROXY_PROBES_DEFINE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ccproxy/probes.h>

#define SERIES__BATCH 100 /* hits between two looks at the clock when rate-limited */

struct series {
	struct ccproxy_event ev;
	uint64_t next_id;
};

static uint64_t series__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void series__sleep_until(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void series__init(struct series *s)
{
	s->ev = (struct ccproxy_event)CCPROXY_EVENT_INIT;
	s->ev.status = 200;
	s->ev.duration_ns = 123456789;
	s->ev.usage = (struct ccproxy_usage){.tokens = {1200, 350, 4000, 0}, .cost_nusd = 4200000};
	ccproxy_copy_str(s->ev.labels.method, sizeof(s->ev.labels.method), "POST");
	ccproxy_copy_str(s->ev.labels.model, sizeof(s->ev.labels.model),
			 "claude-sonnet-4-20250514");
	ccproxy_copy_str(s->ev.labels.service_type, sizeof(s->ev.labels.service_type),
			 "claude_api");
}

/* The one request_complete site of this program. */
static __attribute__((noinline)) void series__fire(struct series *s, uint64_t label)
{
	if (!CCPROXY_ENABLED(request_complete))
		return;
	/* snprintf zero-fills nothing: clear the old value's tail, keys hash every byte. */
	memset(s->ev.labels.endpoint, 0, sizeof(s->ev.labels.endpoint));
	snprintf(s->ev.labels.endpoint, sizeof(s->ev.labels.endpoint), "/v1/bench/%llu",
		 (unsigned long long)label);
	s->ev.request_id = s->next_id++;
	CCPROXY_FIRE(request_complete, &s->ev);
}

static uint64_t series__seed(struct series *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		series__fire(s, i);
	return n;
}

/* Absolute schedule: hit k is due at t0 + k / rate, so a late wake-up is caught up. */
static uint64_t series__rate(struct series *s, uint64_t n, uint64_t rate, double seconds)
{
	uint64_t total = (uint64_t)(seconds * (double)rate), t0 = series__now_ns(), k = 0;

	while (k < total) {
		for (int b = 0; b < SERIES__BATCH && k < total; b++, k++)
			series__fire(s, k % n);
		series__sleep_until(t0 + (uint64_t)((double)k * 1e9 / (double)rate));
	}
	return k;
}

static int series__command(struct series *s, const char *line)
{
	unsigned long long n, rate;
	uint64_t t0, fired;
	double seconds;

	t0 = series__now_ns();
	if (sscanf(line, "seed %llu", &n) == 1) {
		fired = series__seed(s, n);
	} else if (sscanf(line, "rate %llu %llu %lf", &n, &rate, &seconds) == 3 && n && rate &&
		   seconds > 0 && seconds <= 3600) {
		fired = series__rate(s, n, rate, seconds);
	} else {
		fprintf(stderr, "ccproxy-bench-series: bad command: %s", line);
		return -EINVAL;
	}
	printf("ok %llu %llu\n", (unsigned long long)fired,
	       (unsigned long long)(series__now_ns() - t0));
	fflush(stdout);
	return 0;
}

int main(void)
{
	struct series s = {0};
	char line[256];

	series__init(&s);
	while (fgets(line, sizeof(line), stdin)) {
		if (series__command(&s, line))
			return 2;
	}
	return 0;
}

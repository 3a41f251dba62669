// SPDX-License-Identifier: BSD-2-Clause
/*
 * A proxy that lies: fires the ccproxy probes with events no honest proxy sends, next to a
 * known number of valid ones, so a test can check that each lie is counted under its drop
 * reason and that nothing leaks into the valid totals.
 *
 * usage: hostile_target [--wait-attach SECONDS] [--valid N] [--models N] [--hog N]
 *                       [--aliases 1] [--fake-overflow N] [--extremes 1]
 * Waits until a tracer raised the semaphores it uses, fires its script once, prints one JSON
 * line with what a tracer must have counted, then sleeps until killed. --models N instead
 * fires one valid request for each of N distinct models (to fill the requests map).
 * --hog N fires request_start for N distinct requests and never ends them.
 * --aliases 1 fires pairs of label values that render alike ("" and "unknown"; different
 * invalid UTF-8 that prints the same U+FFFD), each pair one series to a reader.
 * --fake-overflow N fires labels that all read "__overflow__", then N more label sets.
 * --extremes 1 drives sums to 2^64 with the largest values the ABI accepts: it fires all but
 * the last event of each series, prints a line, waits for a line on stdin, fires the last
 * ones and prints a second line.
 */
#define CCPROXY_PROBES_DEFINE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <ccproxy/probes.h>

/* A proxy built against a future ABI: the version 1 struct, then fields it does not know. */
struct newer_event {
	struct ccproxy_event v1;
	uint64_t future[8];
};

struct tally {
	unsigned long read_fault, bad_abi, invalid_value;
	unsigned long valid, newer, absurd_requests, strings, pool_acquire;
};

static int all_enabled(void)
{
	return CCPROXY_ENABLED(request_complete) && CCPROXY_ENABLED(pool_acquire) &&
	       CCPROXY_ENABLED(pool_gauges) && CCPROXY_ENABLED(info);
}

static int wait_attach(double seconds)
{
	struct timespec step = {0, 10 * 1000 * 1000};
	double waited = 0;

	while (!all_enabled()) {
		if (waited >= seconds)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
		waited += 0.01;
	}
	return 0;
}

static void base_event(struct ccproxy_event *ev, const char *model)
{
	memset(ev, 0, sizeof(*ev));
	ev->hdr.abi = CCPROXY_ABI_VERSION;
	ev->hdr.size = sizeof(*ev);
	ev->duration_ns = 1000000; /* 1 ms: timed, never "unpaired" */
	ev->status = 200;
	ev->usage.tokens[CCPROXY_TOKENS_INPUT] = 10;
	ev->usage.cost_nusd = 1000;
	ccproxy_copy_str(ev->labels.method, sizeof(ev->labels.method), "POST");
	ccproxy_copy_str(ev->labels.endpoint, sizeof(ev->labels.endpoint), "/v1/messages");
	ccproxy_copy_str(ev->labels.model, sizeof(ev->labels.model), model);
	ccproxy_copy_str(ev->labels.service_type, sizeof(ev->labels.service_type), "hostile");
}

static void fire_complete(struct ccproxy_event *ev)
{
	CCPROXY_FIRE(request_complete, ev);
}

/* Pointers that fault: NULL, a page given back, an event whose labels run off the end. */
static void fire_bad_pointers(struct tally *t)
{
	long page = sysconf(_SC_PAGESIZE);
	char *two =
		mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ccproxy_event *ev;
	struct ccproxy_pool_event *pev;

	if (two == MAP_FAILED)
		exit(1);
	munmap(two + page, page);
	CCPROXY_FIRE(request_complete, (struct ccproxy_event *)NULL);
	CCPROXY_FIRE(request_complete, (struct ccproxy_event *)(two + page));
	CCPROXY_FIRE(pool_gauges, (struct ccproxy_pool_event *)(two + page));
	CCPROXY_FIRE(info, (struct ccproxy_info_event *)NULL);
	t->read_fault += 4;
	/* The scalars fit in the page, the labels do not: nothing may be counted from it. */
	ev = (struct ccproxy_event *)(two + page - offsetof(struct ccproxy_event, labels));
	ev->hdr.abi = CCPROXY_ABI_VERSION;
	ev->hdr.size = sizeof(*ev);
	ev->duration_ns = 1000;
	ev->status = 200;
	fire_complete(ev);
	t->read_fault++;
	/* The pool event's header is readable, the rest is not. */
	pev = (struct ccproxy_pool_event *)(two + page - sizeof(struct ccproxy_hdr));
	pev->hdr.abi = CCPROXY_ABI_VERSION;
	pev->hdr.size = sizeof(*pev);
	CCPROXY_FIRE(pool_gauges, pev);
	t->read_fault++;
	munmap(two, page);
}

static void fire_bad_abi(struct tally *t)
{
	struct ccproxy_event ev;
	struct ccproxy_pool_event pev = CCPROXY_POOL_EVENT_INIT;

	base_event(&ev, "bad-abi");
	ev.hdr.abi = 2;
	fire_complete(&ev);
	ev.hdr.abi = 0;
	fire_complete(&ev);
	base_event(&ev, "bad-abi");
	ev.hdr.size = sizeof(ev) - 8; /* older than version 1 */
	fire_complete(&ev);
	ev.hdr.size = 0;
	fire_complete(&ev);
	pev.hdr.size = 4;
	CCPROXY_FIRE(pool_acquire, &pev);
	t->bad_abi += 5;
}

/* A newer, bigger struct is read by its version 1 prefix: counted like any valid event. */
static void fire_newer(struct tally *t)
{
	struct newer_event nev;

	base_event(&nev.v1, "newer");
	memset(nev.future, 0xff, sizeof(nev.future));
	nev.v1.hdr.size = sizeof(nev);
	fire_complete(&nev.v1);
	t->newer++;
}

/* Label bytes no proxy should send; each becomes one valid, escaped series. */
static void fire_strings(struct tally *t)
{
	struct ccproxy_event ev;

	base_event(&ev, "");
	memset(ev.labels.model, 'A', sizeof(ev.labels.model)); /* no NUL */
	fire_complete(&ev);
	base_event(&ev, "bad\xff\xfe-utf8\xc3");
	fire_complete(&ev);
	base_event(&ev, "q\"uote\nnew\\line");
	fire_complete(&ev);
	base_event(&ev, "x");
	memset(ev.labels.endpoint, 0xff, sizeof(ev.labels.endpoint)); /* no NUL, not UTF-8 */
	fire_complete(&ev);
	t->strings += 4;
}

/* Counted as requests; their usage or duration is not recorded. */
static void fire_absurd(struct tally *t)
{
	struct ccproxy_pool_event pev = CCPROXY_POOL_EVENT_INIT;
	struct ccproxy_event ev;

	base_event(&ev, "absurd");
	ev.usage.tokens[CCPROXY_TOKENS_INPUT] = UINT64_MAX;
	fire_complete(&ev);
	base_event(&ev, "absurd");
	ev.usage.tokens[CCPROXY_TOKENS_OUTPUT] = CCPROXY_TOKENS_MAX + 1;
	fire_complete(&ev);
	base_event(&ev, "absurd");
	ev.usage.cost_nusd = UINT64_MAX;
	fire_complete(&ev);
	base_event(&ev, "absurd");
	ev.duration_ns = (uint64_t)-5; /* a negative duration, as u64 */
	fire_complete(&ev);
	t->absurd_requests += 4;
	t->invalid_value += 4;
	pev.wait_ns = (uint64_t)-1;
	CCPROXY_FIRE(pool_acquire, &pev);
	t->pool_acquire++;
	t->invalid_value++;
}

static void fire_valid(struct tally *t, unsigned long n)
{
	struct ccproxy_event ev;
	unsigned long i;

	for (i = 0; i < n; i++) {
		base_event(&ev, "good");
		fire_complete(&ev);
	}
	t->valid += n;
}

static void fire_models(unsigned long n)
{
	struct ccproxy_event ev;
	char model[32];
	unsigned long i;

	for (i = 0; i < n; i++) {
		snprintf(model, sizeof(model), "model-%lu", i);
		base_event(&ev, model);
		fire_complete(&ev);
	}
	printf("{\"models\": %lu}\n", n);
}

/* Each series reaches 2^64 (or just past it) with its last event. */
#define EXTREME_COST_EVENTS	18447	    /* x 10^15 nano-USD: 1.8447e19 */
#define EXTREME_DURATION_EVENTS 16384	    /* x 2^50 ns: 2^64 */
#define EXTREME_TOKEN_EVENTS	(1UL << 24) /* x 2^40 tokens: 2^64 */

static void extreme_event(struct ccproxy_event *ev, const char *model)
{
	base_event(ev, model);
	ev->usage.tokens[CCPROXY_TOKENS_INPUT] = 0;
	ev->usage.cost_nusd = 0;
}

static void fire_extremes(unsigned long cost, unsigned long duration, unsigned long tokens)
{
	struct ccproxy_event ev;
	unsigned long i;

	extreme_event(&ev, "max-cost");
	ev.usage.cost_nusd = CCPROXY_COST_NUSD_MAX;
	for (i = 0; i < cost; i++)
		fire_complete(&ev);
	extreme_event(&ev, "max-duration");
	ev.duration_ns = CCPROXY_DURATION_NS_MAX;
	for (i = 0; i < duration; i++)
		fire_complete(&ev);
	extreme_event(&ev, "max-tokens");
	ev.usage.tokens[CCPROXY_TOKENS_INPUT] = CCPROXY_TOKENS_MAX;
	for (i = 0; i < tokens; i++)
		fire_complete(&ev);
	printf("{\"cost\": %lu, \"duration\": %lu, \"tokens\": %lu}\n", cost, duration, tokens);
	fflush(stdout);
}

static void extremes(void)
{
	char line[16];

	fire_extremes(EXTREME_COST_EVENTS - 1, EXTREME_DURATION_EVENTS - 1,
		      EXTREME_TOKEN_EVENTS - 1);
	if (!fgets(line, sizeof(line), stdin))
		exit(1);
	fire_extremes(1, 1, 1);
}

/* Each pair renders as one label value: "unknown", U+FFFD U+FFFD, "a" U+FFFD "b". */
static const char *const alias_pairs[][2] = {
	{"", "unknown"},
	{"\xff\xfe", "\x80\xc0"},
	{"a\342\202b", "a\360\237\230b"}, /* cut 3- and 4-byte sequences */
};

static void fire_aliases(void)
{
	struct ccproxy_event ev;
	size_t p, i;

	for (p = 0; p < sizeof(alias_pairs) / sizeof(alias_pairs[0]); p++) {
		for (i = 0; i < 2; i++) {
			const char *v = alias_pairs[p][i];

			base_event(&ev, v);
			fire_complete(&ev); /* model */
			base_event(&ev, "m");
			ccproxy_copy_str(ev.labels.endpoint, sizeof(ev.labels.endpoint), v);
			ccproxy_copy_str(ev.labels.method, sizeof(ev.labels.method), v);
			fire_complete(&ev); /* endpoint and method */
			base_event(&ev, "m");
			ccproxy_copy_str(ev.labels.service_type, sizeof(ev.labels.service_type), v);
			CCPROXY_FIRE(provider_stream_end, &ev); /* usage only */
			ccproxy_copy_str(ev.error_type, sizeof(ev.error_type), v);
			CCPROXY_FIRE(request_fail, &ev); /* error_type, service_type */
		}
	}
	printf("{\"pairs\": %zu}\n", p);
}

/*
 * Labels that all read "__overflow__", first, then n label sets more than a tracer with limits
 * of n - 4 keeps apart: the overflow series and the literal one print alike.
 */
static void fire_fake_overflow(unsigned long n)
{
	static const char of[] = "__overflow__";
	struct ccproxy_event ev;
	unsigned long i;
	char name[32];

	base_event(&ev, of);
	ccproxy_copy_str(ev.labels.endpoint, sizeof(ev.labels.endpoint), of);
	ccproxy_copy_str(ev.labels.service_type, sizeof(ev.labels.service_type), of);
	fire_complete(&ev);
	ccproxy_copy_str(ev.error_type, sizeof(ev.error_type), of);
	CCPROXY_FIRE(provider_error, &ev);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "fill-%lu", i);
		base_event(&ev, name);
		fire_complete(&ev);
		ccproxy_copy_str(ev.error_type, sizeof(ev.error_type), name);
		CCPROXY_FIRE(provider_error, &ev);
	}
	printf("{\"fake_overflow\": %lu}\n", n);
}

/* Requests that never end: a process trying to take every in-flight place of the node. */
static void fire_hog(unsigned long n)
{
	struct ccproxy_event ev;
	unsigned long i;

	base_event(&ev, "hog");
	for (i = 0; i < n; i++) {
		ev.request_id = i + 1;
		CCPROXY_FIRE(request_start, &ev);
	}
	printf("{\"started\": %lu}\n", n);
}

static void print_tally(const struct tally *t)
{
	printf("{\"read_fault\": %lu, \"bad_abi\": %lu, \"invalid_value\": %lu, \"valid\": %lu, "
	       "\"newer\": %lu, \"absurd_requests\": %lu, \"strings\": %lu, "
	       "\"pool_acquire\": %lu}\n",
	       t->read_fault, t->bad_abi, t->invalid_value, t->valid, t->newer, t->absurd_requests,
	       t->strings, t->pool_acquire);
}

int main(int argc, char **argv)
{
	unsigned long valid = 100, models = 0, extreme = 0, hog = 0, aliases = 0, fake = 0;
	struct tally t = {0};
	double wait = 20;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--wait-attach"))
			wait = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--valid"))
			valid = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--models"))
			models = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fake-overflow"))
			fake = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--aliases"))
			aliases = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--hog"))
			hog = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--extremes"))
			extreme = strtoul(argv[i + 1], NULL, 10);
		else
			return 2;
	}
	if (wait_attach(wait)) {
		fprintf(stderr, "hostile_target: no tracer attached\n");
		return 2;
	}
	if (fake) {
		fire_fake_overflow(fake);
	} else if (aliases) {
		fire_aliases();
	} else if (hog) {
		fire_hog(hog);
	} else if (extreme) {
		extremes();
	} else if (models) {
		fire_models(models);
	} else {
		fire_valid(&t, valid);
		fire_bad_pointers(&t);
		fire_bad_abi(&t);
		fire_newer(&t);
		fire_strings(&t);
		fire_absurd(&t);
		fire_valid(&t, valid);
		print_tally(&t);
	}
	fflush(stdout);
	for (;;)
		pause();
}

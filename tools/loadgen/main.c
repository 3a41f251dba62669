// SPDX-License-Identifier: BSD-2-Clause
/*
 * ccproxy-loadgen: stands in for a proxy that carries the ccproxy probes. It fires a
 * deterministic mix of every probe and writes what an attached exporter must then serve, so
 * tests compare a scrape with the truth and benchmarks measure the cost of a probe hit.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fire.h"
#include "probe_notes.h"
#include "mix.h"
#include "opts.h"
#include "outfile.h"
#include "tally.h"
#include "truth.h"

/*
 * Whether a tracer attached every site of the probes to wait for. A semaphore counts attached
 * sites, so one raised by the first of a probe's sites is not enough: events fired at the
 * others before they are attached would be lost to the truth.
 */
static int main__all_attached(int only, const unsigned int *sites)
{
	for (int id = 0; id < CCPROXY_PROBE_COUNT; id++) {
		if ((only < 0 || id == only) && fire__semaphore(id) < (sites[id] ? sites[id] : 1))
			return 0;
	}
	return 1;
}

/* Polls the semaphores every 10 ms. Returns 0, -ETIMEDOUT, or why the sites are unknown. */
static int main__wait_attach(double seconds, int only)
{
	const struct timespec tick = {0, 10000000};
	long polls = (long)(seconds * 100.0);
	unsigned int sites[CCPROXY_PROBE_COUNT];
	int err = probe_notes__sites_file("/proc/self/exe", sites);

	if (err)
		return err;
	for (long i = 0; !main__all_attached(only, sites); i++) {
		if (i >= polls)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	return 0;
}

static void main__print_pid(FILE *f, const void *ctx)
{
	(void)ctx;
	fprintf(f, "%d\n", (int)getpid());
}

static int main__write_ready(const char *path)
{
	return outfile__write(path, main__print_pid, NULL);
}

/* Splits the worker budget, runs the workers, merges their tallies into t. */
static int main__workers(const struct lg_opts *o, uint64_t budget, struct lg_tally *t,
			 uint64_t *elapsed_ns, uint64_t *cpu_ns)
{
	struct lg_worker *w = calloc(o->threads, sizeof(*w));
	pthread_t *tid = calloc(o->threads, sizeof(*tid));
	unsigned int started = 0;
	int err = 0;

	if (!w || !tid) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (unsigned int i = 0; i < o->threads; i++) {
		w[i] = (struct lg_worker){
			.index = i + 1,
			.seed = o->seed,
			.budget = budget / o->threads + (i < budget % o->threads),
			.only = o->only,
			.pin_cpu0 = o->only >= 0 && o->threads == 1,
			.tally = tally__new(),
		};
		if (!w[i].tally) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	for (; started < o->threads; started++) {
		err = -pthread_create(&tid[started], NULL, mix__run, &w[started]);
		if (err)
			goto cleanup;
	}
cleanup:
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		if (!err)
			err = w[i].err;
		tally__merge(t, w[i].tally);
		*elapsed_ns += w[i].elapsed_ns;
		*cpu_ns += w[i].cpu_ns;
	}
	for (unsigned int i = 0; w && i < o->threads; i++)
		tally__free(w[i].tally);
	free(w);
	free(tid);
	return err;
}

/* Fires everything; returns 0 or negative errno. */
static int main__fire(const struct lg_opts *o, struct lg_tally *t, uint64_t *elapsed_ns,
		      uint64_t *cpu_ns)
{
	uint64_t own = 0, shared;
	int err;

	if (o->only >= 0)
		return main__workers(o, o->events, t, elapsed_ns, cpu_ns);
	own = o->leave_active + 2;
	shared = mix__shared_hits(o->events - own);
	mix__prologue(t, o->leave_active);
	err = main__workers(o, o->events - own - shared, t, elapsed_ns, cpu_ns);
	if (!err)
		err = mix__shared(t, shared);
	if (!err)
		mix__epilogue(t, o->seed);
	return err;
}

static void main__report(const struct lg_opts *o, const struct lg_tally *t, uint64_t elapsed_ns,
			 uint64_t cpu_ns)
{
	uint64_t total = 0;
	double per = 0, cpu_per = 0;

	for (int id = 0; id < CCPROXY_PROBE_COUNT; id++)
		total += t->hits[id];
	if (o->only >= 0) /* not the request_start a provider probe's run begins with */
		total = t->hits[o->only];
	if (total) {
		per = (double)elapsed_ns / (double)total;
		cpu_per = (double)cpu_ns / (double)total;
	}
	if (o->only >= 0) {
		printf("probe=%s events=%llu ns_per_event=%.1f cpu_ns_per_event=%.1f\n",
		       fire__name(o->only), (unsigned long long)total, per, cpu_per);
	} else {
		printf("events=%llu threads=%u ns_per_event=%.1f\n", (unsigned long long)total,
		       o->threads, per);
		for (int id = 0; id < CCPROXY_PROBE_COUNT; id++)
			printf("fired probe=%s count=%llu\n", fire__name(id),
			       (unsigned long long)t->hits[id]);
	}
	fflush(stdout);
}

static void main__linger(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
}

int main(int argc, char **argv)
{
	struct truth_meta meta;
	struct lg_tally *t = NULL;
	struct lg_opts o;
	uint64_t elapsed_ns = 0, cpu_ns = 0;
	int err, rc = 1;

	err = opts__parse(&o, argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	if (o.wait_attach >= 0 && (err = main__wait_attach(o.wait_attach, o.only))) {
		if (err == -ETIMEDOUT)
			fprintf(stderr, "ccproxy-loadgen: no tracer attached to %s within %g s\n",
				o.only >= 0 ? fire__name(o.only) : "every probe", o.wait_attach);
		else
			fprintf(stderr, "ccproxy-loadgen: cannot read its own probe notes: %s\n",
				strerror(-err));
		return 2;
	}
	if (o.ready && (err = main__write_ready(o.ready))) {
		fprintf(stderr, "ccproxy-loadgen: failed to write %s: %s\n", o.ready,
			strerror(-err));
		return 1;
	}
	while (o.go && access(o.go, F_OK))
		usleep(10000);
	t = tally__new();
	if (!t) {
		fprintf(stderr, "ccproxy-loadgen: failed to allocate tally: %s\n", strerror(errno));
		return 1;
	}
	err = main__fire(&o, t, &elapsed_ns, &cpu_ns);
	if (err) {
		fprintf(stderr, "ccproxy-loadgen: failed to fire probes: %s\n", strerror(-err));
		goto cleanup;
	}
	meta = (struct truth_meta){o.events, o.seed, o.leave_active, o.threads, o.only};
	if (o.truth && (err = truth__write(o.truth, t, &meta))) {
		fprintf(stderr, "ccproxy-loadgen: failed to write %s: %s\n", o.truth,
			strerror(-err));
		goto cleanup;
	}
	main__report(&o, t, elapsed_ns, cpu_ns);
	if (o.linger)
		main__linger();
	rc = 0;
cleanup:
	tally__free(t);
	return rc;
}

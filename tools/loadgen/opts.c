// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fire.h"
#include "opts.h"

#define OPTS__MAX_THREADS 1024 /* thread indexes must fit in the 16 high bits of request ids */

static const char opts__usage[] =
	"usage: ccproxy-loadgen --events N --threads T --seed S [--wait-attach SECONDS]\n"
	"                       [--linger] [--truth FILE] [--leave-active K] [--only PROBE]\n"
	"                       [--ready-file FILE] [--go-file FILE]\n"
	"Fires a deterministic mix of every ccproxy USDT probe (N hits in total, over T threads)\n"
	"and optionally writes the samples the exporter must then serve (--truth).\n"
	"  --wait-attach SECONDS  wait until a tracer raised every probe's semaphore (exit 2 on\n"
	"                         timeout); with --only, that probe's semaphore\n"
	"  --ready-file FILE      write the pid to FILE once attached (at once without "
	"--wait-attach)\n"
	"  --go-file FILE         after that, fire only once FILE exists (a tracer that counts\n"
	"                         only processes it has found says go)\n"
	"  --leave-active K       start K more requests and never finish them\n"
	"  --linger               after firing, stay alive until SIGINT or SIGTERM\n"
	"  --only PROBE           fire only PROBE, N times, with fixed labels (benchmarks);\n"
	"                         --threads 1 pins the thread to CPU 0; the provider probes\n"
	"                         that look their request up (sent, received, stream_*) all\n"
	"                         hit one request, started first if request_start is traced\n"
	"Prints events=N threads=T ns_per_event=X (or probe=P events=N ns_per_event=X\n"
	"cpu_ns_per_event=C with --only): X is the time of the firing loops summed over threads,\n"
	"per hit; C the same in thread CPU time (without the time other tasks took the CPU).\n";

static int opts__u64(const char *flag, const char *arg, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!arg || !*arg || arg[0] == '-' || arg[0] == '+')
		goto bad;
	v = strtoull(arg, &end, 10);
	if (errno || *end || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "ccproxy-loadgen: invalid value for %s: '%s' (want an integer 0..%llu)\n",
		flag, arg ? arg : "", (unsigned long long)max);
	return -EINVAL;
}

static int opts__seconds(const char *flag, const char *arg, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !isfinite(v) || v < 0 || v > 86400) {
		fprintf(stderr,
			"ccproxy-loadgen: invalid value for %s: '%s' (want seconds 0..86400)\n",
			flag, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int opts__probe(const char *arg, int *out)
{
	int id = fire__lookup(arg);

	if (id < 0) {
		fprintf(stderr, "ccproxy-loadgen: unknown probe for --only: '%s' (one of:", arg);
		for (int i = 0; fire__name(i); i++)
			fprintf(stderr, " %s", fire__name(i));
		fprintf(stderr, ")\n");
		return -EINVAL;
	}
	*out = id;
	return 0;
}

enum {
	OPT_EVENTS = 256,
	OPT_THREADS,
	OPT_SEED,
	OPT_WAIT,
	OPT_LINGER,
	OPT_TRUTH,
	OPT_ACTIVE,
	OPT_ONLY,
	OPT_READY,
	OPT_GO,
	OPT_HELP
};

static const struct option opts__long[] = {
	{"events", required_argument, NULL, OPT_EVENTS},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"seed", required_argument, NULL, OPT_SEED},
	{"wait-attach", required_argument, NULL, OPT_WAIT},
	{"linger", no_argument, NULL, OPT_LINGER},
	{"truth", required_argument, NULL, OPT_TRUTH},
	{"leave-active", required_argument, NULL, OPT_ACTIVE},
	{"only", required_argument, NULL, OPT_ONLY},
	{"ready-file", required_argument, NULL, OPT_READY},
	{"go-file", required_argument, NULL, OPT_GO},
	{"help", no_argument, NULL, OPT_HELP},
	{0},
};

static int opts__one(struct lg_opts *o, int c, const char *arg)
{
	uint64_t v;
	int err;

	switch (c) {
	case OPT_EVENTS:
		return opts__u64("--events", arg, 1ULL << 40, &o->events);
	case OPT_THREADS:
		err = opts__u64("--threads", arg, OPTS__MAX_THREADS, &v);
		if (!err && !v) {
			fprintf(stderr,
				"ccproxy-loadgen: invalid value for --threads: '0' "
				"(want 1..%d)\n",
				OPTS__MAX_THREADS);
			err = -EINVAL;
		}
		o->threads = v;
		return err;
	case OPT_SEED:
		return opts__u64("--seed", arg, UINT64_MAX, &o->seed);
	case OPT_WAIT:
		return opts__seconds("--wait-attach", arg, &o->wait_attach);
	case OPT_LINGER:
		o->linger = 1;
		return 0;
	case OPT_TRUTH:
		o->truth = arg;
		return 0;
	case OPT_ACTIVE:
		return opts__u64("--leave-active", arg, 1ULL << 32, &o->leave_active);
	case OPT_ONLY:
		return opts__probe(arg, &o->only);
	case OPT_READY:
		o->ready = arg;
		return 0;
	case OPT_GO:
		o->go = arg;
		return 0;
	}
	fprintf(stderr, "ccproxy-loadgen: unknown or incomplete option (see --help)\n");
	return -EINVAL;
}

static int opts__check(const struct lg_opts *o)
{
	if (o->only >= 0 && o->leave_active) {
		fprintf(stderr, "ccproxy-loadgen: --leave-active cannot be combined with --only\n");
		return -EINVAL;
	}
	/* The main thread fires info, K starts and the final pool_gauges itself. */
	if (o->only < 0 && o->events < o->leave_active + 2) {
		fprintf(stderr,
			"ccproxy-loadgen: --events must be at least --leave-active + 2 "
			"(info and the final pool_gauges), got %llu\n",
			(unsigned long long)o->events);
		return -EINVAL;
	}
	return 0;
}

int opts__parse(struct lg_opts *o, int argc, char **argv)
{
	int c, err;

	*o = (struct lg_opts){
		.events = 10000, .threads = 1, .seed = 1, .wait_attach = -1, .only = -1};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts__long, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(opts__usage, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr,
				"ccproxy-loadgen: unknown option or missing value: '%s' "
				"(see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		err = opts__one(o, c, optarg);
		if (err)
			return err;
	}
	if (optind < argc) {
		fprintf(stderr, "ccproxy-loadgen: unexpected argument: '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return opts__check(o);
}

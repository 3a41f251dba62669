/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The deterministic event mix: label tables, and the per-thread generator that fires every
 * probe of the ABI from a PRNG seeded by (seed, thread index) and tallies what it fired.
 */
#ifndef LOADGEN_MIX_H
#define LOADGEN_MIX_H

#include <stdint.h>
#include <ccproxy/probes.h>

/* Label tables: raw values as a proxy would pass them (some on purpose malformed). */
#define LG_ENDPOINTS	      7
#define LG_EP_EMPTY	      5 /* "" */
#define LG_EP_MEASURED	      6 /* completions whose duration the kernel measures */
#define LG_METHODS	      6
#define LG_MODELS	      10
#define LG_SERVICES	      5
#define LG_STATUSES	      6
#define LG_ST_ERROR	      5 /* status 0: request_fail */
#define LG_ERROR_TYPES	      10
#define LG_ERR_FIRST_PROVIDER 5 /* error types from here on are provider_<X> */

extern const char *const lg_endpoints[LG_ENDPOINTS];
extern const char *const lg_methods[LG_METHODS];
extern const char *const lg_models[LG_MODELS];
extern const char *const lg_services[LG_SERVICES];
extern const uint32_t lg_statuses[LG_STATUSES];
extern const char *const lg_error_types[LG_ERROR_TYPES];

#define LG_VERSION "0.2.10-loadgen"

struct lg_tally;

/* One firing thread. The caller fills the inputs; run() fills fired and elapsed_ns. */
struct lg_worker {
	/* inputs */
	unsigned int index; /* 1..T; 0 is the main thread */
	uint64_t seed;	    /* the run's --seed */
	uint64_t budget;    /* probe hits to fire */
	int only;	    /* probe id for --only, or -1 for the mix */
	int pin_cpu0;
	struct lg_tally *tally;
	/* outputs */
	uint64_t fired;
	uint64_t elapsed_ns; /* CLOCK_MONOTONIC around the firing loop */
	uint64_t cpu_ns;     /* --only: the thread's CPU time in the loop (excludes preemption) */
	int err;	     /* 0 or negative errno */
};

/* pthread entry point: fires w->budget probe hits (the mix, or --only). */
void *mix__run(void *worker);

/* Main thread: info, then k requests started and never finished. Returns hits fired. */
uint64_t mix__prologue(struct lg_tally *t, uint64_t k);
/*
 * Main thread, after the workers: streams whose chunks several threads fire at once. Of a
 * budget of hits, mix__shared_hits says how many it takes (deterministic, up to 8 streams);
 * mix__shared fires exactly those. 0 or a negative errno.
 */
uint64_t mix__shared_hits(uint64_t budget);
int mix__shared(struct lg_tally *t, uint64_t hits);
/* Main thread, after the workers: the final pool_gauges (values derived from seed). */
uint64_t mix__epilogue(struct lg_tally *t, uint64_t seed);

#endif /* LOADGEN_MIX_H */

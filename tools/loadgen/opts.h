/* SPDX-License-Identifier: BSD-2-Clause */
/* The command line of ccproxy-loadgen, parsed and validated once. */
#ifndef LOADGEN_OPTS_H
#define LOADGEN_OPTS_H

#include <stdint.h>

struct lg_opts {
	uint64_t events;       /* --events: probe hits to fire in total */
	unsigned int threads;  /* --threads */
	uint64_t seed;	       /* --seed */
	double wait_attach;    /* --wait-attach seconds; < 0: do not wait */
	int linger;	       /* --linger */
	const char *truth;     /* --truth FILE, or NULL */
	uint64_t leave_active; /* --leave-active K */
	int only;	       /* --only PROBE as a probe id, or -1 */
	const char *ready;     /* --ready-file FILE, or NULL */
	const char *go;	       /* --go-file FILE, or NULL */
};

/*
 * Fills o from argv. Returns 0; 1 if --help was asked (usage printed to stdout); or -EINVAL
 * after writing one line naming the bad flag to stderr.
 */
int opts__parse(struct lg_opts *o, int argc, char **argv);

#endif /* LOADGEN_OPTS_H */

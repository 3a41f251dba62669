/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The truth file: every sample the exporter must serve for the ccproxy families after the
 * run, as JSON {"samples": [{"name", "labels", "value" | "range": [lo, hi]}, ...]}.
 */
#ifndef LOADGEN_TRUTH_H
#define LOADGEN_TRUTH_H

#include <stddef.h>
#include <stdint.h>

struct lg_tally;

struct truth_meta {
	uint64_t events;
	uint64_t seed;
	uint64_t leave_active;
	unsigned int threads;
	int only; /* probe id, or -1 */
};

/*
 * A label value as the exporter renders it: the string as ccproxy_copy_str() stores it in an
 * array of `size` bytes, cut at the first NUL, invalid UTF-8 replaced by U+FFFD per maximal
 * invalid subpart, `empty` if nothing is left. Writes at most outsz bytes, NUL-terminated.
 * Returns 0, or -ENOSPC if out is too small (3 * size suffices).
 */
int truth__norm(const char *raw, size_t size, const char *empty, char *out, size_t outsz);

/* Writes the truth of t to path (through path.tmp and rename). Returns 0 or -errno. */
int truth__write(const char *path, const struct lg_tally *t, const struct truth_meta *meta);

#endif /* LOADGEN_TRUTH_H */

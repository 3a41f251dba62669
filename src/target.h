/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target: one traced proxy process. Finds the objects it maps that carry ccproxy probes
 * (/proc/PID/maps; paths opened through /proc/PID/root so container files resolve), attaches
 * each probe's program to them for this pid, and tells whether the process is still the one
 * attached (pid reuse is caught by the process start time).
 */
#ifndef CCPROXY_TARGET_H
#define CCPROXY_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "loader.h"

#define TARGET_MAX_OBJECTS 8

struct bpf_link;

struct target {
	pid_t pid;
	unsigned long long start_time; /* /proc/PID/stat field 22 */
	bool alive;
	uint32_t probes; /* bit per attached probe id */
	size_t nobjects;
	char objects[TARGET_MAX_OBJECTS][256]; /* paths as the process sees them */
	struct bpf_link **links;
	size_t nlinks;
};

/*
 * Attaches every ccproxy probe found in pid's objects. Errors: -ESRCH (no such process),
 * -EACCES/-EPERM (not allowed to trace it), -ENOENT (no ccproxy probes in the process), or
 * what libbpf returned. On error nothing stays attached; detail (which object or probe) goes
 * to why[0..whylen). t must be zeroed.
 */
int target__attach(struct target *t, const struct loader *l, pid_t pid, char *why,
		   size_t whylen);
/* Detaches and frees the links; NULL-safe; leaves pid and objects for reporting. */
void target__detach(struct target *t);
/* Re-checks liveness: false once the process has exited (or its pid was reused). */
bool target__refresh(struct target *t);
/* Start time of pid from /proc, or 0 if it does not exist. */
unsigned long long target__start_time(pid_t pid);

#endif /* CCPROXY_TARGET_H */

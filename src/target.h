/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target: one traced proxy process. Knows which probe-carrying objects it maps (found through
 * /proc/PID/maps, opened through /proc/PID/root so container files resolve), holds them
 * attached while it lives, and tells whether it still lives (pid reuse is caught by the
 * process start time).
 */
#ifndef CCPROXY_TARGET_H
#define CCPROXY_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "objects.h"
#include "proc.h"

#define TARGET_MAX_OBJECTS 8

struct target_object {
	uint64_t dev;
	uint64_t ino;
	char path[256]; /* as the process sees it */
};

struct target {
	pid_t pid;
	unsigned long long start_time; /* /proc/PID/stat field 22 */
	bool alive;
	bool held; /* its objects are acquired */
	char comm[16];
	char container_id[PROC_CONTAINER_ID_MAX];
	uint32_t probes; /* bit per probe id found in its objects */
	size_t nobjects;
	struct target_object objects[TARGET_MAX_OBJECTS];
};

/*
 * Fills t for pid from /proc, finding the objects with ccproxy probes it maps (their notes are
 * scanned once, through o). -ESRCH (no such process), -ENOENT (no ccproxy probes), -EACCES or
 * -EPERM (not allowed to look), or another negative errno.
 */
int target__probe(struct target *t, struct objects *o, pid_t pid);
/* Acquires t's objects, attaching those not yet attached. On error nothing stays acquired. */
int target__hold(struct target *t, struct objects *o, const struct loader *l, char *why,
		 size_t whylen);
/* Releases t's objects (the last user detaches them: slow, keep off the scrape path). */
void target__release(struct target *t, struct objects *o);
/* Re-checks liveness: false once the process has exited or its pid was reused. Cheap. */
bool target__refresh(struct target *t);

#endif /* CCPROXY_TARGET_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/* Firing probes by id, their names and their semaphores: the only user of sys/sdt.h. */
#ifndef LOADGEN_FIRE_H
#define LOADGEN_FIRE_H

#include <stdint.h>
#include <ccproxy/probes.h>

/* Probe name of id (as in CCPROXY_PROBES), or NULL. */
const char *fire__name(int id);
/* Probe id of name, or -ENOENT. */
int fire__lookup(const char *name);
/* Non-zero while a tracer holds probe id's semaphore. */
int fire__enabled(int id);
/* Probe id's semaphore: one per attached site per tracer. */
unsigned int fire__semaphore(int id);

/* Fires probe id with ev (its CCPROXY_PROBES argument type) if a tracer is attached. */
void fire__probe(int id, void *ev);

/*
 * --only: fires probe id n times with ev, gated as the header's usage block says; request ids
 * (for struct ccproxy_event probes) are id_base | (i & id_mask).
 */
void fire__loop(int id, void *ev, uint64_t id_base, uint64_t id_mask, uint64_t n);

#endif /* LOADGEN_FIRE_H */

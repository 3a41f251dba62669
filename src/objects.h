/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * objects: the files (executables, shared objects) that processes map, by device and inode.
 *
 * Each file's ccproxy probes are read from its ELF notes once and remembered, so rescanning
 * /proc costs no ELF parsing for files already seen. A file with probes is attached once for
 * every process (pid -1) while at least one traced process maps it, and detached when the
 * last one is gone: N worker processes of one proxy cost one set of uprobes. Which processes
 * count is the BPF allow-list's business (loader__allow), not this module's.
 */
#ifndef CCPROXY_OBJECTS_H
#define CCPROXY_OBJECTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "loader.h"
#include "proc.h"

struct bpf_link;

struct object {
	uint64_t dev;
	uint64_t ino;
	uint32_t probes; /* bit per ccproxy probe id in its notes; 0: none */
	int users;	 /* traced processes that map it */
	struct bpf_link *links[CCPROXY_PROBE_COUNT];
	size_t nlinks;
};

struct objects {
	struct object *v;
	size_t n;
	size_t cap;
};

/*
 * The entry for the file of mapping m in process pid, scanning its notes through
 * /proc/PID/root on first sight. NULL with errno set if it can't be read or remembered.
 * The pointer is valid until the next objects__* call that adds an entry.
 */
struct object *objects__scan(struct objects *o, pid_t pid, const struct proc_mapping *m);
/* The entry for (dev, ino), or NULL. */
struct object *objects__find(struct objects *o, uint64_t dev, uint64_t ino);
/*
 * Takes a user of obj, attaching its probes for every process on the first one; the file is
 * opened as /proc/PID/root/path. 0 or a negative errno, why naming the probe at fault.
 */
int objects__acquire(struct object *obj, const struct loader *l, pid_t pid, const char *path,
		     char *why, size_t whylen);
/* Drops a user; the last one detaches the probes (which can take a while: not on a scrape).
 * NULL-safe. */
void objects__release(struct object *obj);
/* How many files have their probes attached now. */
size_t objects__attached(const struct objects *o);
/* Detaches everything and frees; NULL-safe. */
void objects__free(struct objects *o);

#endif /* CCPROXY_OBJECTS_H */

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "objects.h"
#include "probe_notes.h"

/* Files without probes are forgotten past this many entries, and rescanned when seen again. */
#define OBJECTS_MAX 16384

struct object *objects__find(struct objects *o, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		if (o->v[i].dev == dev && o->v[i].ino == ino)
			return &o->v[i];
	}
	return NULL;
}

/* Drops the entries of files without probes (never attached, never used). */
static void objects__forget_plain(struct objects *o)
{
	size_t i, out = 0;

	for (i = 0; i < o->n; i++) {
		if (o->v[i].probes || o->v[i].users)
			o->v[out++] = o->v[i];
	}
	o->n = out;
}

static struct object *objects__add(struct objects *o, uint64_t dev, uint64_t ino)
{
	struct object *grown;
	size_t cap;

	if (o->n == OBJECTS_MAX)
		objects__forget_plain(o);
	if (o->n == o->cap) {
		cap = o->cap ? o->cap * 2 : 64;
		grown = realloc(o->v, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		o->v = grown;
		o->cap = cap;
	}
	memset(&o->v[o->n], 0, sizeof(o->v[0]));
	o->v[o->n].dev = dev;
	o->v[o->n].ino = ino;
	return &o->v[o->n++];
}

struct object *objects__scan(struct objects *o, pid_t pid, const struct proc_mapping *m)
{
	struct object *obj = objects__find(o, m->dev, m->ino);
	char path[4096 + 64];
	uint32_t mask = 0;
	int err;

	if (obj)
		return obj;
	if (snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	/* Not allowed to read it: said, and not remembered, so that it is tried again. Other
	 * failures (not ELF, malformed) are remembered as a file without probes. */
	err = probe_notes__scan_file(path, &mask);
	if (err == -EACCES || err == -EPERM) {
		errno = -err;
		return NULL;
	}
	obj = objects__add(o, m->dev, m->ino);
	if (obj)
		obj->probes = mask;
	return obj;
}

/*
 * Each uprobe removal waits for the kernel to quiesce (about 0.25 s here) under a global
 * mutex, so removals cannot overlap: a file's 16 probes take about 4 s to detach.
 */
static void objects__detach(struct object *obj)
{
	size_t i;

	for (i = 0; i < obj->nlinks; i++)
		bpf_link__destroy(obj->links[i]);
	obj->nlinks = 0;
}

int objects__acquire(struct object *obj, const struct loader *l, pid_t pid, const char *path,
		     char *why, size_t whylen)
{
	char full[4096 + 64];
	struct bpf_link *link;
	int id, err;

	if (obj->users++)
		return 0;
	snprintf(full, sizeof(full), "/proc/%d/root%s", (int)pid, path);
	for (id = 0; id < CCPROXY_PROBE_COUNT; id++) {
		if (!(obj->probes & (1u << id)))
			continue;
		link = bpf_program__attach_usdt(loader__program(l, id), -1, full, "ccproxy",
						probe_notes__name(id), NULL);
		if (!link) {
			err = -errno;
			snprintf(why, whylen, "probe ccproxy:%s in %s", probe_notes__name(id),
				 path);
			objects__detach(obj);
			obj->users--;
			return err;
		}
		obj->links[obj->nlinks++] = link;
	}
	return 0;
}

void objects__release(struct object *obj)
{
	if (obj && obj->users > 0 && --obj->users == 0)
		objects__detach(obj);
}

size_t objects__attached(const struct objects *o)
{
	size_t i, n = 0;

	for (i = 0; i < o->n; i++)
		n += o->v[i].nlinks > 0;
	return n;
}

void objects__free(struct objects *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->n; i++)
		objects__detach(&o->v[i]);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

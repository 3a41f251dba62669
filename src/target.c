// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "target.h"

struct scan_ctx {
	struct target *t;
	struct objects *o;
	int err;
};

static bool target__has_object(const struct target *t, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < t->nobjects; i++) {
		if (t->objects[i].dev == dev && t->objects[i].ino == ino)
			return true;
	}
	return false;
}

static int target__on_mapping(void *ctx, const struct proc_mapping *m)
{
	struct scan_ctx *c = ctx;
	struct target *t = c->t;
	struct target_object *to;
	struct object *obj;

	if (target__has_object(t, m->dev, m->ino))
		return 0;
	obj = objects__scan(c->o, t->pid, m);
	if (!obj) {
		c->err = -errno;
		return 0;
	}
	if (!obj->probes || t->nobjects == TARGET_MAX_OBJECTS ||
	    strlen(m->path) >= sizeof(t->objects[0].path))
		return 0;
	to = &t->objects[t->nobjects++];
	to->dev = m->dev;
	to->ino = m->ino;
	strcpy(to->path, m->path);
	t->probes |= obj->probes;
	return 0;
}

int target__probe(struct target *t, struct objects *o, pid_t pid)
{
	struct scan_ctx ctx = {.t = t, .o = o};
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->start_time = proc__start_time(pid);
	if (!t->start_time)
		return -ESRCH;
	if (proc__comm(pid, t->comm, sizeof(t->comm)))
		t->comm[0] = '\0';
	if (proc__container_id(pid, t->container_id, sizeof(t->container_id)))
		t->container_id[0] = '\0';
	err = proc__each_mapping(pid, target__on_mapping, &ctx);
	if (err)
		return err;
	if (!t->nobjects)
		return ctx.err ? ctx.err : -ENOENT;
	t->alive = true;
	return 0;
}

int target__hold(struct target *t, struct objects *o, const struct loader *l, char *why,
		 size_t whylen)
{
	size_t i;
	int err;

	why[0] = '\0';
	for (i = 0; i < t->nobjects; i++) {
		struct object *obj = objects__find(o, t->objects[i].dev, t->objects[i].ino);

		err = obj ? objects__acquire(obj, l, t->pid, t->objects[i].path, why, whylen)
			  : -ENOENT;
		if (err) {
			while (i--)
				objects__release(
					objects__find(o, t->objects[i].dev, t->objects[i].ino));
			return err;
		}
	}
	t->held = true;
	return 0;
}

void target__release(struct target *t, struct objects *o)
{
	size_t i;

	if (!t->held)
		return;
	for (i = 0; i < t->nobjects; i++) {
		struct object *obj = objects__find(o, t->objects[i].dev, t->objects[i].ino);

		if (obj)
			objects__release(obj);
	}
	t->held = false;
}

bool target__refresh(struct target *t)
{
	if (t->alive && proc__start_time(t->pid) != t->start_time)
		t->alive = false;
	return t->alive;
}

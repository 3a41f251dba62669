// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "probe_notes.h"
#include "target.h"

static const char *const probe_names[CCPROXY_PROBE_COUNT] = {
#define NAME(name, type) [CCPROXY_PROBE_##name] = #name,
	CCPROXY_PROBES(NAME)
#undef NAME
};

unsigned long long target__start_time(pid_t pid)
{
	unsigned long long start = 0;
	char path[64], buf[1024], *p;
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* After ") " come field 3 (state) ... field 22 (starttime): skip 19 fields. */
	for (i = 0, p++; i < 19 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

static bool target__has_object(const struct target *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->nobjects; i++) {
		if (!strcmp(t->objects[i], path))
			return true;
	}
	return false;
}

/* The path of an executable file mapping in one /proc/PID/maps line, or NULL. */
static const char *maps_line_path(char *line)
{
	char perms[8], *path;
	unsigned long long inode;

	if (sscanf(line, "%*s %7s %*s %*s %llu", perms, &inode) != 2 || !inode || !strchr(perms, 'x'))
		return NULL;
	path = strchr(line, '/');
	if (!path)
		return NULL;
	path[strcspn(path, "\n")] = '\0';
	/* A file replaced on disk since it was mapped: its probes can't be reached by path. */
	if (strstr(path, " (deleted)"))
		return NULL;
	return path;
}

/* Records the objects of pid that carry ccproxy probes, and which probes each one has. */
static int target__find_objects(struct target *t, uint32_t masks[TARGET_MAX_OBJECTS])
{
	char maps[64], line[4096 + 128], full[4096 + 64];
	const char *path;
	uint32_t mask;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)t->pid);
	f = fopen(maps, "r");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f) && t->nobjects < TARGET_MAX_OBJECTS) {
		path = maps_line_path(line);
		if (!path || strlen(path) >= sizeof(t->objects[0]) || target__has_object(t, path))
			continue;
		snprintf(full, sizeof(full), "/proc/%d/root%s", (int)t->pid, path);
		if (probe_notes__scan_file(full, &mask) || !mask)
			continue;
		masks[t->nobjects] = mask;
		strcpy(t->objects[t->nobjects++], path);
	}
	fclose(f);
	return t->nobjects ? 0 : -ENOENT;
}

static int target__attach_object(struct target *t, const struct loader *l, const char *path,
				 uint32_t mask, char *why, size_t whylen)
{
	char full[4096 + 64];
	struct bpf_link *link;
	int id, err;

	snprintf(full, sizeof(full), "/proc/%d/root%s", (int)t->pid, path);
	for (id = 0; id < CCPROXY_PROBE_COUNT; id++) {
		if (!(mask & (1u << id)))
			continue;
		link = bpf_program__attach_usdt(loader__program(l, id), t->pid, full, "ccproxy",
						probe_names[id], NULL);
		if (!link) {
			err = -errno;
			snprintf(why, whylen, "probe ccproxy:%s in %s", probe_names[id], path);
			return err;
		}
		t->links[t->nlinks++] = link;
		t->probes |= 1u << id;
	}
	return 0;
}

int target__attach(struct target *t, const struct loader *l, pid_t pid, char *why, size_t whylen)
{
	uint32_t masks[TARGET_MAX_OBJECTS] = { 0 };
	size_t i;
	int err;

	why[0] = '\0';
	t->pid = pid;
	t->start_time = target__start_time(pid);
	if (!t->start_time)
		return -ESRCH;
	err = target__find_objects(t, masks);
	if (err)
		return err;
	t->links = calloc(t->nobjects * CCPROXY_PROBE_COUNT, sizeof(*t->links));
	if (!t->links)
		return -ENOMEM;
	for (i = 0; i < t->nobjects; i++) {
		err = target__attach_object(t, l, t->objects[i], masks[i], why, whylen);
		if (err) {
			target__detach(t);
			return err;
		}
	}
	t->alive = true;
	return 0;
}

void target__detach(struct target *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	free(t->links);
	t->links = NULL;
	t->nlinks = 0;
	t->probes = 0;
}

bool target__refresh(struct target *t)
{
	if (t->alive && target__start_time(t->pid) != t->start_time)
		t->alive = false;
	return t->alive;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proc: what the exporter reads about a process from /proc. The parsers are pure and take
 * the file's text, so the tests feed them hostile input directly; the readers only open the
 * file. A process that is gone reads as -ESRCH.
 */
#ifndef CCPROXY_PROC_H
#define CCPROXY_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_CONTAINER_ID_MAX 65 /* 64 hex digits */

/* An executable file mapping of /proc/PID/maps. */
struct proc_mapping {
	uint64_t dev; /* makedev(major, minor) */
	uint64_t ino;
	const char *path; /* into the line, which the parser NUL-terminates */
};

/* Field 22 of /proc/PID/stat; 0 if malformed. comm may hold spaces and ')'. */
unsigned long long proc__parse_start_time(const char *stat);
/* 0 and *m filled for an executable, file-backed, not deleted mapping; -ENOENT otherwise. */
int proc__parse_maps_line(char *line, struct proc_mapping *m);
/* The container id in /proc/PID/cgroup text (docker, containerd, cri-o, podman); "" if none. */
void proc__parse_container_id(const char *cgroup, char *id, size_t size);

unsigned long long proc__start_time(pid_t pid);
int proc__comm(pid_t pid, char *buf, size_t size);
/* The executable's path as the process sees it (readlink /proc/PID/exe). */
int proc__exe(pid_t pid, char *buf, size_t size);
int proc__container_id(pid_t pid, char *id, size_t size);
/* True if /proc/PID exists (any process, traced or not). */
int proc__exists(pid_t pid);

typedef int (*proc_mapping_fn)(void *ctx, const struct proc_mapping *m);
/* Calls fn for each executable file mapping, in order, until it returns non-zero. */
int proc__each_mapping(pid_t pid, proc_mapping_fn fn, void *ctx);

#endif /* CCPROXY_PROC_H */

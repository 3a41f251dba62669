// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "proc.h"

unsigned long long proc__parse_start_time(const char *stat)
{
	unsigned long long start = 0;
	const char *p = strrchr(stat, ')');
	int i;

	if (!p)
		return 0;
	/* After ')' come " state ppid ...": starttime is the 20th field from state. */
	for (i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

int proc__parse_maps_line(char *line, struct proc_mapping *m)
{
	unsigned int major, minor;
	unsigned long long ino;
	char perms[8], *path;

	if (sscanf(line, "%*s %7s %*s %x:%x %llu", perms, &major, &minor, &ino) != 4 || !ino ||
	    !strchr(perms, 'x'))
		return -ENOENT;
	path = strchr(line, '/');
	if (!path)
		return -ENOENT;
	path[strcspn(path, "\n")] = '\0';
	/* A file replaced on disk since it was mapped: its probes can't be reached by path. */
	if (strstr(path, " (deleted)"))
		return -ENOENT;
	m->dev = makedev(major, minor);
	m->ino = ino;
	m->path = path;
	return 0;
}

static bool hex64_at(const char *s)
{
	int i;

	for (i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	}
	return !isxdigit((unsigned char)s[64]);
}

/* The last 64-hex-digit run that starts a path component or follows a runtime prefix. */
void proc__parse_container_id(const char *cgroup, char *id, size_t size)
{
	const char *p, *found = NULL;

	if (!size)
		return;
	id[0] = '\0';
	for (p = cgroup; *p; p++) {
		bool boundary = p == cgroup || p[-1] == '/' || p[-1] == '-' || p[-1] == ':';

		if (boundary && hex64_at(p))
			found = p;
	}
	if (found && size > 64) {
		memcpy(id, found, 64);
		id[64] = '\0';
	}
}

/* Reads a small /proc file whole; -ESRCH when the process is gone. */
static int read_proc_file(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	buf[n] = '\0';
	return 0;
}

unsigned long long proc__start_time(pid_t pid)
{
	char buf[1024];

	if (read_proc_file(pid, "stat", buf, sizeof(buf)))
		return 0;
	return proc__parse_start_time(buf);
}

int proc__comm(pid_t pid, char *buf, size_t size)
{
	int err = read_proc_file(pid, "comm", buf, size);

	if (!err)
		buf[strcspn(buf, "\n")] = '\0';
	return err;
}

int proc__exe(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	buf[n] = '\0';
	return 0;
}

int proc__container_id(pid_t pid, char *id, size_t size)
{
	char buf[4096];
	int err = read_proc_file(pid, "cgroup", buf, sizeof(buf));

	if (err)
		return err;
	proc__parse_container_id(buf, id, size);
	return 0;
}

int proc__exists(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) == 0;
}

int proc__each_mapping(pid_t pid, proc_mapping_fn fn, void *ctx)
{
	char path[64], line[4096 + 256];
	struct proc_mapping m;
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		if (!proc__parse_maps_line(line, &m))
			ret = fn(ctx, &m);
	}
	fclose(f);
	return ret < 0 ? ret : 0;
}

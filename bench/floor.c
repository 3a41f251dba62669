// SPDX-License-Identifier: BSD-2-Clause
/*
 * ccproxy-floor PID PROBE [OBJECT]: attaches an empty BPF program to one ccproxy probe in PID's
 * executable (or in OBJECT, a shared object PID maps, such as the Python extension) and waits for
 * SIGINT/SIGTERM. What a probe hit costs with it attached is the floor any tracer pays.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

int main(int argc, char **argv)
{
	struct floor_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	char path[4096 + 64];
	sigset_t set;
	int sig, n, err = 1;
	pid_t pid;

	if (argc < 3 || argc > 4 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s PID PROBE [OBJECT]\n", argv[0]);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* libbpf resolves a bare object path against the tracer's own filesystem view: go through
	 * the target's root, as the exporter does. */
	if (argc == 4)
		n = snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, argv[3]);
	else
		n = snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "ccproxy-floor: object path too long\n");
		return 2;
	}
	skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "ccproxy-floor: failed to load: %s\n", strerror(errno));
		return 1;
	}
	link = bpf_program__attach_usdt(skel->progs.empty, pid, path, "ccproxy", argv[2], NULL);
	if (!link) {
		fprintf(stderr, "ccproxy-floor: failed to attach to %s: %s\n", argv[2],
			strerror(errno));
		goto cleanup;
	}
	/* Every site of the probe is attached now; the semaphore rose with the first one. */
	printf("attached\n");
	fflush(stdout);
	sigwait(&set, &sig);
	err = 0;
cleanup:
	bpf_link__destroy(link);
	floor_bpf__destroy(skel);
	return err;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privs: gives up the capabilities serving does not need, once the probes are attached.
 *
 * Kept: CAP_BPF (map reads; kernels before 6.5 check it on every bpf() call; CAP_SYS_ADMIN
 * instead when the process was not given CAP_BPF), and while
 * discovering new processes also CAP_SYS_ADMIN and CAP_PERFMON (uprobes), CAP_SYS_PTRACE
 * (other processes' /proc/PID/maps and /proc/PID/root) and CAP_DAC_READ_SEARCH (their
 * files). Everything else leaves the effective, permitted, inheritable and bounding sets, and
 * no_new_privs is set, so nothing executed later could regain them.
 *
 * Capabilities belong to threads: call it while the process has only one.
 */
#ifndef CCPROXY_PRIVS_H
#define CCPROXY_PRIVS_H

#include <stdbool.h>

/* 0 or a negative errno (the process keeps what it had if capset fails). */
int privs__drop(bool discovering);

#endif /* CCPROXY_PRIVS_H */

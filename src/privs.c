// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "privs.h"

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static uint64_t keep_mask(bool discovering)
{
	uint64_t keep = 1ULL << CAP_BPF;

	/* Creating uprobes takes CAP_SYS_ADMIN again since Linux 6.16 (and the stable kernels
	 * that took the fix for CVE-2025-38466); CAP_PERFMON is enough before. */
	if (discovering)
		keep |= 1ULL << CAP_SYS_ADMIN | 1ULL << CAP_PERFMON | 1ULL << CAP_SYS_PTRACE |
			1ULL << CAP_DAC_READ_SEARCH;
	return keep;
}

int privs__drop(bool discovering)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	uint64_t keep = keep_mask(discovering), eff, perm;
	int cap, last = last_cap();

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	perm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	/* Granted CAP_SYS_ADMIN but not CAP_BPF (a pre-5.8 style deployment): it is what lets
	 * older kernels' bpf() read the maps, so it stays instead. */
	if (!(perm & 1ULL << CAP_BPF))
		keep |= 1ULL << CAP_SYS_ADMIN;
	/*
	 * The bounding set first: dropping from it takes CAP_SETPCAP, which capset removes. A
	 * deployment that grants only the needed capabilities has no CAP_SETPCAP (EPERM): its
	 * bounding set is already narrow, and no_new_privs keeps it from growing.
	 */
	for (cap = 0; cap <= last && cap < 64; cap++) {
		if (keep & (1ULL << cap) || !prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			continue;
		if (errno == EPERM)
			break;
		if (errno != EINVAL)
			return -errno;
	}
	eff = ((uint64_t)data[1].effective << 32 | data[0].effective) & keep;
	perm = ((uint64_t)data[1].permitted << 32 | data[0].permitted) & keep;
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)perm;
	data[1].permitted = (uint32_t)(perm >> 32);
	data[0].inheritable = data[1].inheritable = 0;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

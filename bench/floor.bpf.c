// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The kernel's uprobe floor: a USDT program that does nothing. Benchmarks only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
/* Only for the maps libbpf's USDT attach requires; the program reads no argument. */
#include <bpf/usdt.bpf.h>

SEC("usdt")
int empty(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

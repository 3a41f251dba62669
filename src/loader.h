/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * loader: the BPF object's lifecycle (open, configure, load) and reading its maps into a
 * snapshot. Knows map layouts; knows nothing of processes beyond "is this tgid alive".
 */
#ifndef CCPROXY_LOADER_H
#define CCPROXY_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../bpf/ccproxy.h"
#include "snapshot.h"
#include "nhist.h"

struct loader;
struct bpf_program;

/* What the programs and maps are set up with; only what the BPF side needs to know. */
struct loader_opts {
	uint64_t bucket_ns[CCPROXY_MAX_BUCKETS]; /* histogram bounds in ns, increasing */
	size_t nbuckets;
	bool collect_request, collect_token, collect_cost, collect_error, collect_pool;
	bool collect_latency; /* the latency, stream and provider-status families */
	/* Bounds of each latency histogram (enum ccproxy_latency) in ns, increasing. */
	uint64_t lat_bucket_ns[CCPROXY_LATENCIES][CCPROXY_LATENCY_BUCKETS];
	size_t lat_nbuckets[CCPROXY_LATENCIES];
	bool per_process;	  /* pid and container_id in every key */
	bool filter_pids;	  /* count only the processes of loader__allow */
	const char *bpf_pin_path; /* bpffs directory for the data maps; NULL or "": none */
	bool pin_reset;		  /* pinned maps this load cannot reuse: remove, not refuse */
	/* Series per family, the overflow series aside; requests tracked at once, in all and
	 * per process (0: a quarter of limit_inflight). */
	unsigned int limit_requests, limit_usage, limit_errors, limit_inflight, limit_provider;
	unsigned int limit_inflight_per_process;
	unsigned int limit_native;     /* native buckets, all series together */
	const struct nhist_params *nh; /* native histograms; NULL: none */
};

/*
 * Opens, sets buckets, switches and map sizes from o (read during the call only), loads.
 * With o->bpf_pin_path the data maps are pinned there, or reused if already pinned: counters
 * survive a restart. Pinned maps written by another version or with other buckets, limits or
 * labels are removed first with o->pin_reset (loader__pins_reset then says so); without it
 * the load fails with EEXIST. NULL with errno set.
 */
struct loader *loader__load(const struct loader_opts *o);
/* Whether loader__load removed stale pinned maps: their counters were lost. */
bool loader__pins_reset(const struct loader *l);
/*
 * Whether --bpf-pin-path dir can be used: it, or the parent it would be made in, must be a
 * directory on a bpf filesystem. 0, -EMEDIUMTYPE (another filesystem), -ENOTDIR, or the
 * errno of stat/statfs (-ENOENT: no parent). loader__load checks it too.
 */
int loader__check_pin_dir(const char *dir);
/* Destroys links-free state: programs and maps. NULL-safe. Detach targets first. */
void loader__free(struct loader *l);

/* The program that handles probe `id`. */
struct bpf_program *loader__program(const struct loader *l, enum ccproxy_probe_id id);

/* Counts pid's events when the programs filter by process (see loader__filters). 0 or -errno. */
int loader__allow(struct loader *l, uint32_t tgid);
/* Stops counting pid's events. */
void loader__forget(struct loader *l, uint32_t tgid);
/* True if the programs count only allowed processes. */
bool loader__filters(const struct loader *l);

typedef bool (*loader_alive_fn)(void *ctx, uint32_t tgid);

/*
 * Fills snap from the maps, changing nothing in them; the native buckets only if native
 * (a text scrape has no use for them). Per-process state (active requests,
 * pool gauges, versions) counts only tgids for which alive() is true, so a dead process's
 * requests and gauges vanish at once. With per-process keys the same holds for the counters
 * of a dead process: its series end. 0 or a negative errno; snap is then partial but valid
 * for snapshot__free.
 */
int loader__read(struct loader *l, struct snapshot *snap, bool native, loader_alive_fn alive,
		 void *ctx);
/*
 * Deletes the entries that loader__read skips: those of tgids for which alive() is false.
 * Node-wide entries (tgid 0) and pool entries stay: they carry totals. 0 or a negative errno.
 */
int loader__collect(struct loader *l, loader_alive_fn alive, void *ctx);

#endif /* CCPROXY_LOADER_H */

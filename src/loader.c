// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ccproxy.skel.h"
#include "family.h"
#include "loader.h"
#include "pins.h"

struct loader {
	struct ccproxy_bpf *skel;
	bool filters;
	struct bpf_program *progs[CCPROXY_PROBE_COUNT];
	int ncpus;
	const char *made_pin_dir; /* --bpf-pin-path when this load created it */
	bool pins_reset;	  /* stale pinned maps were removed by this load */
};

/* Every handler is named after its probe: the probe table maps to programs by name. */
static void loader__index_programs(struct loader *l)
{
#define PROG(name, type) l->progs[CCPROXY_PROBE_##name] = l->skel->progs.name;
	CCPROXY_PROBES(PROG)
#undef PROG
}

int loader__check_pin_dir(const char *dir)
{
	char parent[PATH_MAX];
	const char *on = dir;
	struct statfs fs;
	struct stat st;
	char *slash;

	if (!stat(dir, &st)) {
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	} else if (errno != ENOENT) {
		return -errno;
	} else {
		/* Not there yet: it would be made in its parent. */
		if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
			return -ENAMETOOLONG;
		slash = strrchr(parent, '/');
		if (slash)
			slash[slash == parent] = '\0';
		on = parent;
	}
	if (statfs(on, &fs))
		return -errno;
	return fs.f_type == BPF_FS_MAGIC ? 0 : -EMEDIUMTYPE;
}

/* The maps whose contents outlive an exporter when pinned. The allow-list is rebuilt. */
static int loader__set_pin_paths(struct loader *l, const char *dir)
{
	struct bpf_map *maps[] = {
		l->skel->maps.requests, l->skel->maps.usage,	      l->skel->maps.errors,
		l->skel->maps.inflight, l->skel->maps.inflight_procs, l->skel->maps.pool,
		l->skel->maps.procs,	l->skel->maps.stats,	      l->skel->maps.meta,
		l->skel->maps.provider, l->skel->maps.native,	      l->skel->maps.series_ids,
	};
	char path[512];
	size_t i;
	int err;

	err = loader__check_pin_dir(dir);
	if (err)
		return err;
	if (!mkdir(dir, 0700))
		l->made_pin_dir = dir;
	else if (errno != EEXIST)
		return -errno;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(maps[i])) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		err = bpf_map__set_pin_path(maps[i], path);
		if (err)
			return err;
	}
	return 0;
}

/* What the maps' contents mean under o: written beside them, compared by a later load. */
static void loader__meta(const struct loader_opts *o, struct ccproxy_meta *want)
{
	size_t i, h;

	*want = (struct ccproxy_meta){.abi = CCPROXY_ABI_VERSION};
	want->nbuckets = o->nbuckets;
	want->per_process = o->per_process;
	want->layout = CCPROXY_MAPS_LAYOUT;
	want->nh_schema = o->nh ? o->nh->schema : -1;
	want->nh_kmin = o->nh ? o->nh->kmin : 0;
	for (i = 0; i < o->nbuckets; i++)
		want->bucket_ns[i] = o->bucket_ns[i];
	want->collect_latency = o->collect_latency;
	for (h = 0; h < CCPROXY_LATENCIES; h++) {
		want->lat_nbuckets[h] = o->lat_nbuckets[h];
		for (i = 0; i < o->lat_nbuckets[h]; i++)
			want->lat_bucket_ns[h][i] = o->lat_bucket_ns[h][i];
	}
}

/*
 * Before the load: pinned maps this object cannot reuse as they are (pins.h) are removed with
 * o->pin_reset, so that the load starts them from zero; else the load is refused (-EEXIST).
 */
static int loader__check_pins(struct loader *l, const struct loader_opts *o)
{
	struct ccproxy_meta want;
	int stale;

	loader__meta(o, &want);
	stale = pins__stale(l->skel->obj, "meta", &want, sizeof(want));
	if (stale <= 0)
		return stale;
	if (!o->pin_reset)
		return -EEXIST;
	l->pins_reset = true;
	return pins__remove(l->skel->obj);
}

/* Writes the meta of maps that are new; reused ones hold the same (loader__check_pins). */
static int loader__record_meta(struct loader *l, const struct loader_opts *o)
{
	struct ccproxy_meta want, have = {0};
	uint32_t zero = 0;
	int err;

	err = bpf_map__lookup_elem(l->skel->maps.meta, &zero, sizeof(zero), &have, sizeof(have), 0);
	if (err || have.abi)
		return err;
	loader__meta(o, &want);
	return bpf_map__update_elem(l->skel->maps.meta, &zero, sizeof(zero), &want, sizeof(want),
				    0);
}

static int loader__configure(struct loader *l, const struct loader_opts *o)
{
	struct ccproxy_bpf *skel = l->skel;
	size_t i, h;
	int err;

	if (o->nbuckets > CCPROXY_MAX_BUCKETS)
		return -EINVAL;
	for (i = 0; i < o->nbuckets; i++)
		skel->rodata->bucket_ns[i] = o->bucket_ns[i];
	for (h = 0; h < CCPROXY_LATENCIES; h++) {
		if (o->lat_nbuckets[h] > CCPROXY_LATENCY_BUCKETS)
			return -EINVAL;
		for (i = 0; i < o->lat_nbuckets[h]; i++)
			skel->rodata->lat_bucket_ns[h][i] = o->lat_bucket_ns[h][i];
		skel->rodata->lat_nbuckets[h] = o->lat_nbuckets[h];
	}
	skel->rodata->collect_latency = o->collect_latency;
	skel->rodata->nbuckets = o->nbuckets;
	skel->rodata->collect_request = o->collect_request;
	skel->rodata->collect_token = o->collect_token;
	skel->rodata->collect_cost = o->collect_cost;
	skel->rodata->collect_error = o->collect_error;
	skel->rodata->collect_pool = o->collect_pool;
	skel->rodata->per_process = o->per_process;
	skel->rodata->inflight_per_process = o->limit_inflight_per_process
						     ? o->limit_inflight_per_process
						     : o->limit_inflight / 4;
	l->filters = o->filter_pids;
	skel->rodata->filter_pids = l->filters;
	if (o->nh) {
		skel->rodata->nh_enabled = true;
		skel->rodata->nh_schema = (uint32_t)o->nh->schema;
		skel->rodata->nh_kmin = o->nh->kmin;
		skel->rodata->nh_zero_ns = o->nh->zero_ns;
		skel->rodata->nh_k0_first = o->nh->k0_first;
		for (i = 0; i < CCPROXY_NH_THRESHOLDS; i++)
			skel->rodata->nh_thresh[i] = o->nh->thresh[i];
	}

	/* One more entry than the limit: the family's overflow series. */
	if (o->bpf_pin_path && o->bpf_pin_path[0]) {
		err = loader__set_pin_paths(l, o->bpf_pin_path);
		if (err)
			return err;
	}
	err = bpf_map__set_max_entries(skel->maps.requests, o->limit_requests + 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.usage, o->limit_usage + 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.errors, o->limit_errors + 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.inflight, o->limit_inflight);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.provider, o->limit_provider + 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.native, o->limit_native);
	return err;
}

/* Now in bpf_ktime_get_ns() time, which is CLOCK_MONOTONIC. */
static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The overflow keys must exist before the maps fill up: BPF cannot insert into a full map.
 * The requests overflow entry holds completions of many models: their usage goes by model
 * through the usage map. Made now, they are created now; reused pinned ones keep their time.
 */
static int loader__seed_overflow(struct loader *l)
{
	struct ccproxy_req_key rk = {.flags = CCPROXY_KEY_OVERFLOW};
	struct ccproxy_usage_key uk = {.flags = CCPROXY_KEY_OVERFLOW};
	struct ccproxy_error_key ek = {.flags = CCPROXY_KEY_OVERFLOW};
	struct ccproxy_provider_key pk = {.uk.flags = CCPROXY_KEY_OVERFLOW};
	uint64_t now = monotonic_ns();
	struct ccproxy_req_val rv = {.usage_to = CCPROXY_USAGE_VIA_MAP, .created_ns = now};
	struct ccproxy_usage_val uv = {.created_ns = now};
	struct ccproxy_count_val ev = {.created_ns = now};
	int err;

	err = bpf_map__update_elem(l->skel->maps.requests, &rk, sizeof(rk), &rv, sizeof(rv),
				   BPF_NOEXIST);
	if (!err || err == -EEXIST)
		err = bpf_map__update_elem(l->skel->maps.usage, &uk, sizeof(uk), &uv, sizeof(uv),
					   BPF_NOEXIST);
	if (!err || err == -EEXIST)
		err = bpf_map__update_elem(l->skel->maps.errors, &ek, sizeof(ek), &ev, sizeof(ev),
					   BPF_NOEXIST);
	if (!err || err == -EEXIST)
		err = bpf_map__update_elem(l->skel->maps.provider, &pk, sizeof(pk), &ev, sizeof(ev),
					   BPF_NOEXIST);
	return err == -EEXIST ? 0 : err;
}

struct loader *loader__load(const struct loader_opts *o)
{
	struct loader *l;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		err = l->ncpus ? l->ncpus : -EINVAL;
		goto fail;
	}
	l->skel = ccproxy_bpf__open();
	if (!l->skel) {
		err = -errno;
		goto fail;
	}
	err = loader__configure(l, o);
	if (!err)
		err = loader__check_pins(l, o);
	if (err)
		goto fail;
	err = ccproxy_bpf__load(l->skel);
	if (err)
		goto fail;
	err = loader__record_meta(l, o);
	if (err)
		goto fail;
	err = loader__seed_overflow(l);
	if (err)
		goto fail;
	loader__index_programs(l);
	return l;
fail:
	/* A failed start leaves no trace: nothing is pinned in a directory it made. */
	if (l->made_pin_dir)
		rmdir(l->made_pin_dir);
	loader__free(l);
	errno = -err;
	return NULL;
}

bool loader__pins_reset(const struct loader *l)
{
	return l->pins_reset;
}

void loader__free(struct loader *l)
{
	if (!l)
		return;
	ccproxy_bpf__destroy(l->skel);
	free(l);
}

int loader__allow(struct loader *l, uint32_t tgid)
{
	uint8_t one = 1;

	return bpf_map__update_elem(l->skel->maps.targets, &tgid, sizeof(tgid), &one, sizeof(one),
				    BPF_ANY);
}

void loader__forget(struct loader *l, uint32_t tgid)
{
	bpf_map__delete_elem(l->skel->maps.targets, &tgid, sizeof(tgid), 0);
}

bool loader__filters(const struct loader *l)
{
	return l->filters;
}

struct bpf_program *loader__program(const struct loader *l, enum ccproxy_probe_id id)
{
	return id < CCPROXY_PROBE_COUNT ? l->progs[id] : NULL;
}

/*
 * Copies every entry of a hash map into keys/vals (max entries each), batched: one syscall
 * per few hundred entries instead of two per entry. *n is set to the number copied.
 */
static int map_dump(const struct bpf_map *map, void *keys, void *vals, uint32_t max, uint32_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	int fd = bpf_map__fd(map);
	uint64_t token = 0;
	void *in = NULL;
	uint32_t total = 0;

	while (total < max) {
		uint32_t cnt = max - total;
		int err = bpf_map_lookup_batch(fd, in, &token, (char *)keys + total * ksz,
					       (char *)vals + total * vsz, &cnt, &opts);

		total += cnt;
		if (err == -ENOENT)
			break;
		if (err)
			return err;
		in = &token;
	}
	*n = total;
	return 0;
}

/* Dumps a map into freshly allocated key and value arrays (caller frees both). */
static int map_dump_alloc(const struct bpf_map *map, void **keys, void **vals, uint32_t *n)
{
	uint32_t max = bpf_map__max_entries(map);
	int err;

	*keys = calloc(max, bpf_map__key_size(map));
	*vals = calloc(max, bpf_map__value_size(map));
	if (!*keys || !*vals)
		return -ENOMEM;
	err = map_dump(map, *keys, *vals, max, n);
	return err;
}

/*
 * A per-process key (tgid != 0) of a process that is gone: not shown, and deleted by
 * loader__collect. Node-wide keys (tgid 0) hold the totals of every process, dead ones
 * included, and are never dead.
 */
static bool dead_key(uint32_t tgid, loader_alive_fn alive, void *ctx)
{
	return tgid && !alive(ctx, tgid);
}

/* A source's map in the loaded object. */
static const struct bpf_map *source_map(const struct loader *l, const struct family_source *src)
{
	return bpf_object__find_map_by_name(l->skel->obj, src->map);
}

/* Reads a labelled source's map into its snapshot rows (key, then value), live keys only. */
static int read_source(const struct loader *l, const struct family_source *src,
		       struct snapshot *snap, loader_alive_fn alive, void *ctx)
{
	const struct bpf_map *map = source_map(l, src);
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	char *keys = NULL, *vals = NULL, *rows = NULL;
	char **out = (char **)((char *)snap + src->rows_off);
	size_t *nout = (size_t *)((char *)snap + src->count_off);
	uint32_t n = 0, i, tgid;
	int err;

	if (ksz != src->key_size || vsz != src->row_size - src->val_off)
		return -EPROTO;
	err = map_dump_alloc(map, (void **)&keys, (void **)&vals, &n);
	if (!err && !(rows = calloc(n + 1, src->row_size)))
		err = -ENOMEM;
	for (i = 0; !err && i < n; i++) {
		char *row = rows + *nout * src->row_size;

		memcpy(&tgid, keys + i * ksz + src->tgid_off, sizeof(tgid));
		if (dead_key(tgid, alive, ctx))
			continue;
		memcpy(row, keys + i * ksz, ksz);
		memcpy(row + src->val_off, vals + i * vsz, vsz);
		(*nout)++;
	}
	*out = rows;
	if (!err)
		err = snapshot__merge_rows(snap, src);
	snap->maps[src->map_id] = (struct snap_map){n, bpf_map__max_entries(map)};
	free(keys);
	free(vals);
	return err;
}

/*
 * The native buckets of live keys, read before the rows that own them: a bucket is counted
 * after its classic one, so a series never shows more native counts than classic ones.
 */
static int read_native(struct loader *l, struct snapshot *snap, loader_alive_fn alive, void *ctx)
{
	const struct bpf_map *map = l->skel->maps.native;
	struct ccproxy_nh_key *keys = NULL;
	uint64_t *vals = NULL;
	uint32_t n = 0, i;
	int err;

	err = map_dump_alloc(map, (void **)&keys, (void **)&vals, &n);
	if (!err && !(snap->native = calloc(n + 1, sizeof(*snap->native))))
		err = -ENOMEM;
	for (i = 0; !err && i < n; i++) {
		if (dead_key(keys[i].tgid, alive, ctx))
			continue;
		snap->native[snap->nnative++] = (struct snap_native){
			.series = keys[i].series,
			.hist = keys[i].hist,
			.slot = keys[i].slot,
			.count = vals[i],
		};
	}
	snap->maps[SNAP_MAP_NATIVE] = (struct snap_map){n, bpf_map__max_entries(map)};
	free(keys);
	free(vals);
	return err;
}

static int read_counters(struct loader *l, struct snapshot *snap, bool native,
			 loader_alive_fn alive, void *ctx)
{
	size_t i;
	int err = 0;

	if (native)
		err = read_native(l, snap, alive, ctx);
	for (i = 0; !err && i < FAMILY_MAP_SOURCES; i++)
		err = read_source(l, &family_sources[i], snap, alive, ctx);
	/* Then the sources that other sources' rows add to: after all of those are read. */
	for (i = 0; !err && i < FAMILY_SRC_COUNT; i++) {
		if (family_sources[i].fold)
			err = snapshot__fold(snap, &family_sources[i]);
	}
	if (!err && native)
		snapshot__resolve_native(snap);
	return err;
}

static void add_pool(struct ccproxy_pool_val *to, const struct ccproxy_pool_val *from)
{
	size_t i;

	to->created_ns = snap_earliest(to->created_ns, from->created_ns);
	for (i = 0; i < CCPROXY_POOL_COUNTERS; i++)
		to->counters[i] = snap_add(to->counters[i], from->counters[i]);
	to->wait_sum_ns = snap_add(to->wait_sum_ns, from->wait_sum_ns);
	for (i = 0; i <= CCPROXY_POOL_BUCKETS; i++)
		to->buckets[i] = snap_add(to->buckets[i], from->buckets[i]);
	to->nh_lost = snap_add(to->nh_lost, from->nh_lost);
}

static int read_pool(struct loader *l, struct snapshot *snap)
{
	const struct bpf_map *map = l->skel->maps.pool;
	struct ccproxy_pool_val *vals = NULL;
	uint32_t *keys = NULL, n = 0, i;
	int err;

	err = map_dump_alloc(map, (void **)&keys, (void **)&vals, &n);
	for (i = 0; !err && i < n; i++)
		add_pool(&snap->pool, &vals[i]);
	snap->maps[SNAP_MAP_POOL] = (struct snap_map){n, bpf_map__max_entries(map)};
	free(keys);
	free(vals);
	return err;
}

/* How many processes hold an in-flight count; those of dead ones wait for loader__collect. */
static int read_inflight_procs(struct loader *l, struct snapshot *snap)
{
	const struct bpf_map *map = l->skel->maps.inflight_procs;
	uint32_t *keys = NULL, n = 0;
	int64_t *vals = NULL;
	int err;

	err = map_dump_alloc(map, (void **)&keys, (void **)&vals, &n);
	snap->maps[SNAP_MAP_INFLIGHT_PROCS] = (struct snap_map){n, bpf_map__max_entries(map)};
	free(keys);
	free(vals);
	return err;
}

/* Requests in flight of live processes; those of dead ones wait for loader__collect. */
static int read_inflight(struct loader *l, struct snapshot *snap, loader_alive_fn alive, void *ctx)
{
	const struct bpf_map *map = l->skel->maps.inflight;
	struct ccproxy_inflight_key *keys = NULL;
	struct ccproxy_inflight_val *vals = NULL;
	uint32_t n = 0, i;
	int err;

	err = map_dump_alloc(map, (void **)&keys, (void **)&vals, &n);
	for (i = 0; !err && i < n; i++) {
		if (alive(ctx, keys[i].tgid))
			snap->active_requests++;
	}
	snap->maps[SNAP_MAP_INFLIGHT] = (struct snap_map){n, bpf_map__max_entries(map)};
	free(keys);
	free(vals);
	return err ? err : read_inflight_procs(l, snap);
}

static int read_procs(struct loader *l, struct snapshot *snap, loader_alive_fn alive, void *ctx)
{
	const struct bpf_map *map = l->skel->maps.procs;
	struct ccproxy_proc_val *vals = NULL;
	uint32_t *keys = NULL, n = 0, i;
	int err;

	err = map_dump_alloc(map, (void **)&keys, (void **)&vals, &n);
	for (i = 0; !err && i < n; i++) {
		const struct ccproxy_proc_val *p = &vals[i];

		if (!alive(ctx, keys[i]))
			continue;
		if (p->flags & CCPROXY_PROC_HAS_GAUGES) {
			snap->clients_total += p->clients_total;
			snap->clients_available += p->clients_available;
			snap->clients_active += p->clients_active;
		}
		if (p->flags & CCPROXY_PROC_HAS_VERSION)
			err = snapshot__add_version(snap, p->version);
	}
	snap->maps[SNAP_MAP_PROCS] = (struct snap_map){n, bpf_map__max_entries(map)};
	free(keys);
	free(vals);
	return err;
}

static int read_stats(struct loader *l, struct snapshot *snap)
{
	size_t stride = (sizeof(struct ccproxy_stats) + 7) & ~(size_t)7;
	struct ccproxy_stats *percpu;
	uint32_t zero = 0;
	size_t cpu, i;
	char *buf;
	int err;

	buf = calloc(l->ncpus, stride);
	if (!buf)
		return -ENOMEM;
	err = bpf_map__lookup_elem(l->skel->maps.stats, &zero, sizeof(zero), buf, l->ncpus * stride,
				   0);
	for (cpu = 0; !err && cpu < (size_t)l->ncpus; cpu++) {
		percpu = (struct ccproxy_stats *)(buf + cpu * stride);
		for (i = 0; i < CCPROXY_PROBE_COUNT; i++)
			snap->stats.hits[i] += percpu->hits[i];
		for (i = 0; i < CCPROXY_DROP_COUNT; i++)
			snap->stats.drops[i] += percpu->drops[i];
	}
	free(buf);
	return err;
}

/* Run counts and times exist only while kernel.bpf_stats_enabled is 1. */
static void read_prog_stats(struct loader *l, struct snapshot *snap)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int on = 0;
	size_t i;

	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	snap->prog_stats = on == 1;
	for (i = 0; snap->prog_stats && i < CCPROXY_PROBE_COUNT; i++) {
		struct bpf_prog_info info = {0};
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(l->progs[i]), &info, &len))
			continue;
		snap->progs[i].run_cnt = info.run_cnt;
		snap->progs[i].run_time_ns = info.run_time_ns;
	}
}

int loader__read(struct loader *l, struct snapshot *snap, bool native, loader_alive_fn alive,
		 void *ctx)
{
	int err;

	err = read_counters(l, snap, native && l->skel->rodata->nh_enabled, alive, ctx);
	if (!err)
		err = read_pool(l, snap);
	if (!err)
		err = read_inflight(l, snap, alive, ctx);
	if (!err)
		err = read_procs(l, snap, alive, ctx);
	if (!err)
		err = read_stats(l, snap);
	if (!err)
		read_prog_stats(l, snap);
	return err;
}

/* Deletes the entries of map whose key holds, at tgid_off, the tgid of a process that is gone. */
static int collect_map(const struct bpf_map *map, size_t tgid_off, loader_alive_fn alive, void *ctx)
{
	size_t ksz = bpf_map__key_size(map);
	char *keys = NULL;
	void *vals = NULL;
	uint32_t n = 0, i, tgid;
	int err;

	err = map_dump_alloc(map, (void **)&keys, &vals, &n);
	for (i = 0; !err && i < n; i++) {
		memcpy(&tgid, keys + i * ksz + tgid_off, sizeof(tgid));
		/* Only -ENOENT can fail: an in-flight entry whose request ended meanwhile. */
		if (dead_key(tgid, alive, ctx))
			bpf_map__delete_elem(map, keys + i * ksz, ksz, 0);
	}
	free(keys);
	free(vals);
	return err;
}

/*
 * The counter maps hold tgids only with per-process labels. The pool map is not collected:
 * its per-process entries are summed into families without a pid label, whose totals must
 * not go down when a process exits.
 */
int loader__collect(struct loader *l, loader_alive_fn alive, void *ctx)
{
	const struct {
		const struct bpf_map *map;
		size_t tgid_off;
	} maps[] = {
		{l->skel->maps.inflight, offsetof(struct ccproxy_inflight_key, tgid)},
		{l->skel->maps.inflight_procs, 0}, /* the key is the tgid */
		{l->skel->maps.procs, 0},	   /* the key is the tgid */
	};
	size_t i;
	int err = 0;

	for (i = 0; !err && l->skel->rodata->per_process && i < FAMILY_MAP_SOURCES; i++)
		err = collect_map(source_map(l, &family_sources[i]), family_sources[i].tgid_off,
				  alive, ctx);
	if (!err && l->skel->rodata->per_process && l->skel->rodata->nh_enabled)
		err = collect_map(l->skel->maps.native, offsetof(struct ccproxy_nh_key, tgid),
				  alive, ctx);
	for (i = 0; !err && i < sizeof(maps) / sizeof(maps[0]); i++)
		err = collect_map(maps[i].map, maps[i].tgid_off, alive, ctx);
	return err;
}

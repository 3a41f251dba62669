/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pins: whether the maps an earlier exporter pinned can be reused by this one.
 *
 * libbpf reuses a pinned map only when its type, key and value sizes, capacity and flags are
 * the object's, and fails the whole load otherwise; the meta map says what the values mean
 * (buckets, layout). Both are checked here before the load, so that stale pins (another
 * version of the exporter, other buckets, limits or labels) can be removed and the maps
 * start from zero, as without pinning, instead of the exporter failing to start.
 */
#ifndef CCPROXY_PINS_H
#define CCPROXY_PINS_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;

/*
 * 1 if any map of obj with a pin path (bpf_map__pin_path) is pinned there in a form it
 * cannot reuse, or if the pinned map named meta_name holds, at key 0, a first nonzero word
 * and not the meta_size bytes at meta; 0 if every pinned map fits (or none is pinned);
 * a negative errno if a pin could not be read. Call after the maps are sized, before load.
 */
int pins__stale(const struct bpf_object *obj, const char *meta_name, const void *meta,
		size_t meta_size);
/* Unpins every map of obj that has a pin path. 0 or the first negative errno. */
int pins__remove(const struct bpf_object *obj);

#endif /* CCPROXY_PINS_H */

// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pins.h"

/* The pinned map at path, opened; -ENOENT if nothing is pinned there. */
static int open_pin(const char *path)
{
	int fd = bpf_obj_get(path);

	return fd < 0 ? -errno : fd;
}

/* Whether the pinned map fd is what libbpf would reuse for map. */
static bool fits(const struct bpf_map *map, int fd)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	return info.type == (uint32_t)bpf_map__type(map) &&
	       info.key_size == bpf_map__key_size(map) &&
	       info.value_size == bpf_map__value_size(map) &&
	       info.max_entries == bpf_map__max_entries(map) &&
	       info.map_flags == bpf_map__map_flags(map);
}

/* 1 if the pinned meta map fd says what meta says, or was never written (zero); 0 if not. */
static int same_meta(int fd, const void *meta, size_t size)
{
	uint32_t zero = 0;
	char *have = calloc(1, size);
	int ret;

	if (!have)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, have))
		ret = -errno;
	else
		ret = have[0] == 0 && !memcmp(have, have + 1, size - 1) ? 1
									: !memcmp(have, meta, size);
	free(have);
	return ret;
}

int pins__stale(const struct bpf_object *obj, const char *meta_name, const void *meta,
		size_t meta_size)
{
	const struct bpf_map *map;
	int fd, same, ret = 0;

	bpf_object__for_each_map(map, obj)
	{
		const char *path = bpf_map__pin_path(map);

		if (!path)
			continue;
		fd = open_pin(path);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return fd;
		if (!fits(map, fd))
			ret = 1;
		else if (!strcmp(bpf_map__name(map), meta_name))
			ret = (same = same_meta(fd, meta, meta_size)) < 0 ? same : !same;
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

int pins__remove(const struct bpf_object *obj)
{
	const struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
	{
		const char *path = bpf_map__pin_path(map);

		if (path && unlink(path) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/* An ELF image from any bytes: scanned without reading outside it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../include/ccproxy/probes.h"
#include "probe_notes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy, so ASan sees any read past the end. */
	void *copy = malloc(size ? size : 1);
	uint32_t mask = 0xffffffff;
	int ret;

	memcpy(copy, data, size);
	ret = probe_notes__scan_mem(copy, size, &mask);
	if (ret && ret != -ENOEXEC)
		abort();
	if (mask >> CCPROXY_PROBE_COUNT)
		abort();
	free(copy);
	return 0;
}

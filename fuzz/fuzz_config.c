// SPDX-License-Identifier: BSD-2-Clause
/*
 * Flags and PLUGINS__METRICS__ variables from any bytes: the input is cut at NULs into
 * items; the first byte picks flags (even) or environment (odd). Whatever parses must then
 * validate or fail with a message, and the message must be a terminated string.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

#define MAX_ITEMS 16

/*
 * glibc's regcomp needs memory exponential in stacked repetitions ("a+++++..."): a
 * --match-comm/--match-exe value like that exhausts memory at start. Reported, not fixed
 * here; such inputs are skipped so the other parsers keep being explored.
 */
static bool stacked_repetition(const uint8_t *data, size_t size)
{
	size_t i, run = 0;

	for (i = 0; i < size; i++) {
		run = strchr("+*?}", data[i]) && data[i] ? run + 1 : 0;
		if (run >= 8)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *items[MAX_ITEMS + 2], err[CONFIG_ERR_MAX];
	struct config cfg;
	size_t n = 0, i, start = 1;
	int ret;

	if (size < 1 || stacked_repetition(data, size))
		return 0;
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	items[n++] = "ccproxy_exporter";
	for (i = 1; i <= size && n < MAX_ITEMS + 1; i++) {
		if (buf[i] == '\0') {
			items[n++] = buf + start;
			start = i + 1;
		}
	}
	items[n] = NULL;
	config__defaults(&cfg);
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	if (data[0] & 1)
		ret = config__parse_env(&cfg, items + 1, err, sizeof(err));
	else
		ret = config__parse_args(&cfg, (int)n, items, err, sizeof(err));
	if (ret == 0)
		ret = config__validate(&cfg, err, sizeof(err));
	assert(ret == 0 || ret == 1 || ret == -EINVAL);
	assert(memchr(err, '\0', sizeof(err)));
	free(buf);
	return 0;
}

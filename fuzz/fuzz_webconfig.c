// SPDX-License-Identifier: BSD-2-Clause
/*
 * webconfig__parse (libyaml's loader and the schema walk over its nodes) on any bytes: no
 * crash, no leak, no endless loop on alias cycles; an accepted document is consistent.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include "webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig wc;
	char err[256] = ""; /* -ENOMEM leaves no message */
	const char *c;
	size_t i;

	if (webconfig__parse(&wc, (const char *)data, size, "fuzz", "/base", err, sizeof(err))) {
		/* One line, whatever the document holds. */
		for (c = err; *c; c++)
			assert((unsigned char)*c >= ' ' && *c != 0x7f);
		return 0;
	}
	assert(!wc.tls || (wc.cert_file && wc.key_file));
	assert(wc.nusers <= WEBCONFIG_MAX_USERS && (!wc.nusers || wc.slowest < wc.nusers));
	for (i = 0; i < wc.nusers; i++)
		assert(strlen(wc.users[i].hash) == 60 && wc.users[i].name[0]);
	webconfig__free(&wc);
	return 0;
}

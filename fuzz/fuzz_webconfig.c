// SPDX-License-Identifier: BSD-2-Clause
/* webconfig__parse on any bytes: no crash, no leak; an accepted document is consistent. */
#include <assert.h>
#include <stdint.h>
#include <string.h>
#include "webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webconfig wc;
	char err[256];
	size_t i;

	if (webconfig__parse(&wc, (const char *)data, size, "fuzz", "/base", err, sizeof(err)))
		return 0;
	assert(!wc.tls || (wc.cert_file && wc.key_file));
	for (i = 0; i < wc.nusers; i++)
		assert(strlen(wc.users[i].hash) == 60 && wc.users[i].name[0]);
	webconfig__free(&wc);
	return 0;
}

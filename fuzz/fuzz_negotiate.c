// SPDX-License-Identifier: BSD-2-Clause
/*
 * negotiate: the Accept header of any client. Properties: no crash; the format is one of the
 * offered ones (text always); nothing offered but text gives text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int offered = size ? data[0] & NEGOTIATE_OFFER_ALL : 0, mask;
	char *s = malloc(size + 1);
	enum negotiate_format f;

	memcpy(s, data, size);
	s[size] = '\0';
	f = negotiate__format(size ? s + 1 : s, offered);
	mask = f == FMT_PROTOBUF_DELIMITED ? NEGOTIATE_OFFER_PROTOBUF
	       : f == FMT_TEXT_0_0_4	   ? 0
					   : NEGOTIATE_OFFER_OPENMETRICS;
	if (f >= FMT_COUNT || (mask && !(offered & mask)))
		abort();
	(void)negotiate__parse_offers(s, &offered, NULL);
	free(s);
	return 0;
}

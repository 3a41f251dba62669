// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "gunzip.h"
#include "gzip.h"

static void check_round_trip(const char *in, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	char *back = NULL;
	long n;

	strbuf__puts(&out, "previous content is replaced");
	cr_assert_eq(gzip__compress(in, len, &out), 0);
	cr_assert_geq(out.len, 18, "shorter than a gzip header and trailer");
	cr_expect_eq((unsigned char)out.buf[0], 0x1f);
	cr_expect_eq((unsigned char)out.buf[1], 0x8b);
	n = gunzip(out.buf, out.len, &back);
	cr_assert_eq(n, (long)len, "inflated %ld bytes, want %zu", n, len);
	cr_expect(len == 0 || memcmp(back, in, len) == 0);
	free(back);
	strbuf__free(&out);
}

Test(gzip, round_trip)
{
	static const char text[] = "# HELP ccproxy_requests_total Total requests\n"
				   "ccproxy_requests_total{method=\"POST\"} 42\n";
	size_t big = 3 * 1024 * 1024, i;
	char *buf = malloc(big);
	unsigned int x = 12345;

	check_round_trip(text, sizeof(text) - 1);
	check_round_trip(NULL, 0);
	cr_assert_not_null(buf);
	/* Incompressible bytes make the output larger than the input. */
	for (i = 0; i < big; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
	check_round_trip(buf, big);
	memset(buf, 'a', big);
	check_round_trip(buf, big);
	free(buf);
}

Test(gzip, bad_arguments)
{
	struct strbuf out = STRBUF_INIT;

	cr_expect_eq(gzip__compress("x", 1, NULL), -EINVAL);
	cr_expect_eq(gzip__compress(NULL, 1, &out), -EINVAL);
	strbuf__free(&out);
}

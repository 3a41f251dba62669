/* SPDX-License-Identifier: BSD-2-Clause */
/* The tests' reader of the protobuf exposition: protobuf-c's own unpacker, message by message. */
#ifndef CCPROXY_TEST_PB_UNPACK_H
#define CCPROXY_TEST_PB_UNPACK_H

#include <stdint.h>
#include <criterion/criterion.h>
#include "metrics.pb-c.h"
#include "strbuf.h"

/* Reads the varint-delimited MetricFamily messages of sb (at most max); asserts it is all. */
static size_t unpack_all(const struct strbuf *sb, Io__Prometheus__Client__MetricFamily **out,
			 size_t max)
{
	size_t pos = 0, n = 0;

	while (pos < sb->len && n < max) {
		uint64_t len = 0;
		int shift = 0;
		unsigned char c;

		do {
			cr_assert_lt(pos, sb->len);
			c = (unsigned char)sb->buf[pos++];
			len |= (uint64_t)(c & 0x7F) << shift;
			shift += 7;
		} while (c & 0x80);
		cr_assert_leq(pos + len, sb->len);
		out[n] = io__prometheus__client__metric_family__unpack(
			NULL, len, (const uint8_t *)sb->buf + pos);
		cr_assert_not_null(out[n]);
		pos += len;
		n++;
	}
	cr_expect_eq(pos, sb->len);
	return n;
}

#endif /* CCPROXY_TEST_PB_UNPACK_H */

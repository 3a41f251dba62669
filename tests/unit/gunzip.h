/* SPDX-License-Identifier: BSD-2-Clause */
/* The tests' inflater: checks what gzip__compress and the server's gzipped responses hold. */
#ifndef CCPROXY_TEST_GUNZIP_H
#define CCPROXY_TEST_GUNZIP_H

#include <stdlib.h>
#include <zlib.h>

/* Inflates a gzip stream into a malloc'ed buffer; returns its length, or -1. */
static long gunzip(const void *in, size_t len, char **out)
{
	z_stream zs = {0};
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int zerr = Z_OK;

	if (!buf || inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	while (zerr == Z_OK) {
		if (n == cap)
			buf = realloc(buf, cap *= 2);
		zs.next_out = (Bytef *)buf + n;
		zs.avail_out = (uInt)(cap - n);
		zerr = inflate(&zs, Z_NO_FLUSH);
		n = cap - zs.avail_out;
	}
	inflateEnd(&zs);
	if (zerr != Z_STREAM_END || zs.avail_in != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	return (long)n;
}

#endif /* CCPROXY_TEST_GUNZIP_H */

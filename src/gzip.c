// SPDX-License-Identifier: BSD-2-Clause
/* zlib's deflate with the gzip wrapper, into a strbuf. */
#include <errno.h>
#include <limits.h>
#include <zlib.h>
#include "gzip.h"

static int gzip_run(z_stream *zs, const char *in, size_t len, struct strbuf *out)
{
	size_t room = deflateBound(zs, len > ULONG_MAX ? ULONG_MAX : len), chunk, avail;
	int err, zerr;

	zs->next_in = (Bytef *)in;
	for (;;) {
		/* zlib counts in uInt: feed inputs beyond 4 GiB in slices. */
		if (zs->avail_in == 0 && len) {
			chunk = len > UINT_MAX ? UINT_MAX : len;
			zs->avail_in = (uInt)chunk;
			len -= chunk;
		}
		err = strbuf__reserve(out, room);
		if (err)
			return err;
		avail = room > UINT_MAX ? UINT_MAX : room;
		zs->next_out = (Bytef *)out->buf + out->len;
		zs->avail_out = (uInt)avail;
		zerr = deflate(zs, len ? Z_NO_FLUSH : Z_FINISH);
		out->len += avail - zs->avail_out;
		out->buf[out->len] = '\0';
		if (zerr == Z_STREAM_END)
			return 0;
		if (zerr != Z_OK && zerr != Z_BUF_ERROR)
			return -EIO;
		room = 64 * 1024; /* the bound was not enough: grow in steps */
	}
}

int gzip__compress(const char *in, size_t len, struct strbuf *out)
{
	z_stream zs = {0};
	int err;

	if (!out || (!in && len))
		return -EINVAL;
	strbuf__reset(out);
	/* 15 + 16: largest window, gzip wrapper rather than zlib's. */
	switch (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			     Z_DEFAULT_STRATEGY)) {
	case Z_OK:
		break;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
	err = gzip_run(&zs, in, len, out);
	deflateEnd(&zs);
	if (err)
		strbuf__reset(out);
	return err;
}

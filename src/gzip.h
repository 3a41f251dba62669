/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gzip: one-shot gzip compression (RFC 1952, zlib's default level) of a buffer, for the
 * metrics responses and the pushed bodies. Returns errors; prints nothing.
 */
#ifndef CCPROXY_GZIP_H
#define CCPROXY_GZIP_H

#include <stddef.h>
#include "strbuf.h"

/*
 * Compresses in[0..len) (in may be NULL when len is 0) into out, replacing its content; inputs
 * beyond 4 GiB are fed to zlib in slices. 0, or -EINVAL (NULL out, or NULL in with len),
 * -ENOMEM, -EIO (zlib failed); on error out is left empty. The caller owns out.
 */
int gzip__compress(const char *in, size_t len, struct strbuf *out);

#endif /* CCPROXY_GZIP_H */

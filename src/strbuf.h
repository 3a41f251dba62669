/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strbuf: a growable byte buffer for building responses.
 *
 * Errors are sticky: the first failure sets sb->err and every later append does nothing, so a
 * renderer can append freely and check once at the end. A size that would overflow size_t is
 * treated as a failed allocation (-ENOMEM). A failed append leaves the content as it was. The
 * buffer is always NUL-terminated after a successful append (buf may be NULL while len == 0).
 * The caller owns the struct; strbuf__free releases buf and may be called on a zeroed struct.
 */
#ifndef CCPROXY_STRBUF_H
#define CCPROXY_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	int err; /* 0, -ENOMEM, or vsnprintf's errno (-EOVERFLOW) from a failed printf */
};

#define STRBUF_INIT \
	{           \
		0   \
	}

void strbuf__free(struct strbuf *sb);
/* Keeps the allocation, forgets the content and any error. */
void strbuf__reset(struct strbuf *sb);
/* Makes room for `extra` more bytes (plus a NUL). Returns 0 or sb->err. */
int strbuf__reserve(struct strbuf *sb, size_t extra);
int strbuf__append(struct strbuf *sb, const char *s, size_t n);
int strbuf__puts(struct strbuf *sb, const char *s);
int strbuf__putc(struct strbuf *sb, char c);
int strbuf__printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* CCPROXY_STRBUF_H */

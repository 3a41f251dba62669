// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"

/* A first allocation big enough for a typical line, so that small appends do not realloc. */
#define STRBUF_MIN_CAP 64

/* Only a guess for the first vsnprintf; a longer result is retried once with the exact size. */
#define STRBUF_PRINTF_GUESS 64

void strbuf__free(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->err = 0;
}

void strbuf__reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->err = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static int strbuf__fail(struct strbuf *sb, int err)
{
	if (!sb->err)
		sb->err = err;
	return sb->err;
}

/* Doubling keeps appends amortised O(1); the checks keep absurd sizes from wrapping around. */
static size_t strbuf__grown_cap(size_t cap, size_t need)
{
	size_t next = cap < STRBUF_MIN_CAP ? STRBUF_MIN_CAP : cap;

	while (next < need) {
		if (next > SIZE_MAX / 2)
			return need;
		next *= 2;
	}
	return next;
}

int strbuf__reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *buf;

	if (sb->err)
		return sb->err;
	/* len + extra + 1 must neither wrap nor exceed what malloc can ever return. */
	if (extra > (size_t)PTRDIFF_MAX - 1 - sb->len)
		return strbuf__fail(sb, -ENOMEM);
	need = sb->len + extra + 1;
	if (sb->buf && need <= sb->cap)
		return 0;
	cap = strbuf__grown_cap(sb->cap, need);
	if (cap > (size_t)PTRDIFF_MAX)
		cap = need;
	buf = realloc(sb->buf, cap);
	if (!buf)
		return strbuf__fail(sb, -ENOMEM);
	if (!sb->buf)
		buf[0] = '\0';
	sb->buf = buf;
	sb->cap = cap;
	return 0;
}

int strbuf__append(struct strbuf *sb, const char *s, size_t n)
{
	int err = strbuf__reserve(sb, n);

	if (err)
		return err;
	if (n)
		memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf__puts(struct strbuf *sb, const char *s)
{
	return strbuf__append(sb, s, s ? strlen(s) : 0);
}

int strbuf__putc(struct strbuf *sb, char c)
{
	int err = strbuf__reserve(sb, 1);

	if (err)
		return err;
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
	return 0;
}

static int strbuf__vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	size_t room;
	va_list again;
	int n, err;

	err = strbuf__reserve(sb, STRBUF_PRINTF_GUESS);
	if (err)
		return err;
	room = sb->cap - sb->len;
	va_copy(again, ap);
	errno = 0;
	n = vsnprintf(sb->buf + sb->len, room, fmt, ap);
	if (n >= 0 && (size_t)n >= room) {
		/* The first attempt wrote a truncated prefix; the retry overwrites it. */
		err = strbuf__reserve(sb, (size_t)n);
		if (!err)
			n = vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	if (err) {
		sb->buf[sb->len] = '\0';
		return err;
	}
	if (n < 0) {
		/* EOVERFLOW (result above INT_MAX) or a bad format: the content stays as it was. */
		sb->buf[sb->len] = '\0';
		return strbuf__fail(sb, errno ? -errno : -EINVAL);
	}
	sb->len += (size_t)n;
	return 0;
}

int strbuf__printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = strbuf__vprintf(sb, fmt, ap);
	va_end(ap);
	return err;
}

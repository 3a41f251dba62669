// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"

/* Most significant digits a double needs to round-trip. */
#define EXPO_DIGITS_MAX 17

/* Python's repr switches to exponent form outside 1e-4 <= |v| < 1e16. */
#define EXPO_FIXED_EXP_MIN -4
#define EXPO_FIXED_EXP_END 16

/* Integral doubles below 2^53 are exact; their repr is the integer and ".0", no search needed. */
#define EXPO_EXACT_INT_END 9007199254740992.0

static const char expo_digit_pairs[] = "00010203040506070809"
				       "10111213141516171819"
				       "20212223242526272829"
				       "30313233343536373839"
				       "40414243444546474849"
				       "50515253545556575859"
				       "60616263646566676869"
				       "70717273747576777879"
				       "80818283848586878889"
				       "90919293949596979899";

/* Writes the decimal digits of v at out (room for 20), returns their count. */
static size_t expo__u64_digits(char *out, uint64_t v)
{
	char tmp[20];
	char *p = tmp + sizeof(tmp);
	size_t n;

	while (v >= 100) {
		const char *pair = expo_digit_pairs + (v % 100) * 2;

		v /= 100;
		*--p = pair[1];
		*--p = pair[0];
	}
	if (v >= 10) {
		*--p = expo_digit_pairs[v * 2 + 1];
		*--p = expo_digit_pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	return n;
}

/* snprintf's contract: copies what fits, always terminates, returns the full length. */
static size_t expo__emit(char *buf, size_t size, const char *s, size_t n)
{
	if (size) {
		size_t k = n < size - 1 ? n : size - 1;

		memcpy(buf, s, k);
		buf[k] = '\0';
	}
	return n;
}

struct expo_digits {
	char d[EXPO_DIGITS_MAX + 1];
	int n;	 /* significant digits, no trailing zeros */
	int exp; /* decimal exponent of d[0] */
};

/* Picks the digits out of "%e" output by hand: printf spells the decimal point per locale. */
static void expo__parse_digits(const char *s, struct expo_digits *out)
{
	const char *p;
	int n = 0;

	for (p = s; *p && *p != 'e'; p++) {
		if (isdigit((unsigned char)*p) && n < EXPO_DIGITS_MAX)
			out->d[n++] = *p;
	}
	out->n = n;
	out->exp = *p == 'e' ? atoi(p + 1) : 0;
}

static void expo__strip_zeros(struct expo_digits *dg)
{
	while (dg->n > 1 && dg->d[dg->n - 1] == '0')
		dg->n--;
}

/* v rounded to prec+1 significant digits; true if that reads back as v. */
static bool expo__try_digits(double v, int prec, struct expo_digits *out)
{
	char s[48];

	snprintf(s, sizeof(s), "%.*e", prec, v);
	if (strtod(s, NULL) != v)
		return false;
	expo__parse_digits(s, out);
	expo__strip_zeros(out);
	return true;
}

/*
 * Below a power of two the doubles are twice as dense as above it, so the digits that read
 * back may be one step above the correctly rounded ones; repr prefers them, being shorter.
 */
static bool expo__try_digits_up(double v, int prec, struct expo_digits *out)
{
	char s[48];
	int i;

	snprintf(s, sizeof(s), "%.*e", prec, v);
	expo__parse_digits(s, out);
	for (i = out->n - 1; i >= 0 && out->d[i] == '9'; i--)
		out->d[i] = '0';
	if (i < 0) {
		out->d[0] = '1';
		out->exp++;
	} else {
		out->d[i]++;
	}
	snprintf(s, sizeof(s), "%.*se%d", out->n, out->d, out->exp - (out->n - 1));
	if (strtod(s, NULL) != v)
		return false;
	expo__strip_zeros(out);
	return true;
}

static bool expo__is_pow2(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return (bits & ((1ULL << 52) - 1)) == 0;
}

/* Powers of ten up to 1e22 are exact doubles. */
static const double expo_pow10[] = {1e0,  1e1,	1e2,  1e3,  1e4,  1e5,	1e6,  1e7,
				    1e8,  1e9,	1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#define EXPO_FAST_MIN	1e-7
#define EXPO_FAST_M_END 1e15

/*
 * The common non-integral case (sums, costs: 0.25, 12.345) without printf: for k = 1, 2, ...
 * m = v * 10^k rounded; m / 10^k with m and 10^k exact doubles is correctly rounded, which is
 * what strtod makes of the string "m e-k", so equality proves the digits read back. The first
 * k that works gives the fewest digits; below 15 of them the candidate is unique (see
 * expo__shortest), and the product's rounding error is far too small to pick a wrong m.
 */
static bool expo__fast_digits(double v, struct expo_digits *out)
{
	double x, m;
	uint64_t mi;
	int k;

	if (v < EXPO_FAST_MIN || v >= EXPO_EXACT_INT_END)
		return false;
	for (k = 1; k < (int)(sizeof(expo_pow10) / sizeof(expo_pow10[0])); k++) {
		x = v * expo_pow10[k];
		if (x >= EXPO_FAST_M_END)
			return false;
		mi = (uint64_t)(x + 0.5);
		m = (double)mi;
		if (m / expo_pow10[k] != v)
			continue;
		out->n = (int)expo__u64_digits(out->d, mi);
		out->exp = out->n - 1 - k;
		expo__strip_zeros(out);
		return true;
	}
	return false;
}

/*
 * The shortest digits that round-trip, closest to v among those (v finite, > 0). A normal
 * double carries more than 15 significant digits, so if any string of 15 or fewer digits
 * reads back as v it is unique and equals v correctly rounded to 15 digits: one try finds it.
 * Subnormals have less precision ("5e-324") and search from one digit up.
 */
static void expo__shortest(double v, struct expo_digits *out)
{
	char s[48];
	int prec = v >= DBL_MIN ? 14 : 0;

	if (expo__fast_digits(v, out))
		return;
	for (; prec < EXPO_DIGITS_MAX - 1; prec++) {
		if (expo__try_digits(v, prec, out))
			return;
		if (prec == EXPO_DIGITS_MAX - 2 && expo__is_pow2(v) &&
		    expo__try_digits_up(v, prec, out))
			return;
	}
	/* 17 digits always read back (IEEE 754), so no check is needed. */
	snprintf(s, sizeof(s), "%.*e", EXPO_DIGITS_MAX - 1, v);
	expo__parse_digits(s, out);
	expo__strip_zeros(out);
}

static char *expo__layout_fixed(char *p, const struct expo_digits *dg)
{
	int i;

	if (dg->exp < 0) {
		*p++ = '0';
		*p++ = '.';
		for (i = -1; i > dg->exp; i--)
			*p++ = '0';
		memcpy(p, dg->d, (size_t)dg->n);
		return p + dg->n;
	}
	for (i = 0; i <= dg->exp; i++)
		*p++ = i < dg->n ? dg->d[i] : '0';
	*p++ = '.';
	if (dg->n <= dg->exp + 1) {
		*p++ = '0';
		return p;
	}
	memcpy(p, dg->d + dg->exp + 1, (size_t)(dg->n - dg->exp - 1));
	return p + dg->n - dg->exp - 1;
}

static char *expo__layout_exp(char *p, const struct expo_digits *dg)
{
	int e = dg->exp;

	*p++ = dg->d[0];
	if (dg->n > 1) {
		*p++ = '.';
		memcpy(p, dg->d + 1, (size_t)(dg->n - 1));
		p += dg->n - 1;
	}
	*p++ = 'e';
	*p++ = e < 0 ? '-' : '+';
	if (e < 0)
		e = -e;
	if (e < 10)
		*p++ = '0';
	return p + expo__u64_digits(p, (uint64_t)e);
}

/* repr() of a finite double into out (EXPO_NUMBER_MAX bytes), without the NUL. */
static size_t expo__repr(char *out, double v)
{
	struct expo_digits dg;
	char *p = out;

	if (signbit(v)) {
		*p++ = '-';
		v = -v;
	}
	if (v < EXPO_EXACT_INT_END && v == (double)(uint64_t)v) {
		p += expo__u64_digits(p, (uint64_t)v);
		*p++ = '.';
		*p++ = '0';
		return (size_t)(p - out);
	}
	expo__shortest(v, &dg);
	if (dg.exp >= EXPO_FIXED_EXP_MIN && dg.exp < EXPO_FIXED_EXP_END)
		p = expo__layout_fixed(p, &dg);
	else
		p = expo__layout_exp(p, &dg);
	return (size_t)(p - out);
}

size_t expo__format_double(char *buf, size_t size, double v)
{
	char tmp[EXPO_NUMBER_MAX];

	if (isnan(v))
		return expo__emit(buf, size, "NaN", 3);
	if (isinf(v))
		return expo__emit(buf, size, v > 0 ? "+Inf" : "-Inf", 4);
	return expo__emit(buf, size, tmp, expo__repr(tmp, v));
}

size_t expo__format_u64(char *buf, size_t size, uint64_t v)
{
	char tmp[EXPO_NUMBER_MAX];
	size_t n = expo__u64_digits(tmp, v);

	tmp[n++] = '.';
	tmp[n++] = '0';
	return expo__emit(buf, size, tmp, n);
}

/*
 * Length of the well-formed UTF-8 sequence at s, or minus the length of its maximal invalid
 * prefix (Unicode 3.9, "maximal subpart"), which becomes one U+FFFD as Python's
 * decode(errors="replace") does. The ranges exclude overlongs, surrogates and > U+10FFFF.
 */
static int expo__utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	int need, i;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		return -1;
	}
	for (i = 1; i <= need; i++) {
		if ((size_t)i >= avail || s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

static bool expo__label_plain(unsigned char c)
{
	return c && c < 0x80 && c != '\\' && c != '"' && c != '\n';
}

/* Escaping and U+FFFD grow a byte to at most three bytes. */
#define EXPO_LABEL_GROWTH 3

static size_t expo__add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t expo__mul(size_t a, size_t b)
{
	return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static char *expo__put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Writes the escaped s[0..len) at p, which has room for EXPO_LABEL_GROWTH * len bytes. */
static char *expo__put_label(char *p, const unsigned char *s, size_t len)
{
	size_t i = 0, run;
	int seq;

	while (i < len) {
		for (run = i; run < len && expo__label_plain(s[run]); run++)
			;
		p = expo__put(p, (const char *)s + i, run - i);
		if (run == len)
			break;
		i = run + 1;
		switch (s[run]) {
		case '\\':
			p = expo__put(p, "\\\\", 2);
			continue;
		case '"':
			p = expo__put(p, "\\\"", 2);
			continue;
		case '\n':
			p = expo__put(p, "\\n", 2);
			continue;
		}
		seq = expo__utf8_seq(s + run, len - run);
		if (seq < 0) {
			p = expo__put(p, "\xEF\xBF\xBD", 3);
			i = run + (size_t)-seq;
		} else {
			p = expo__put(p, (const char *)s + run, (size_t)seq);
			i = run + (size_t)seq;
		}
	}
	return p;
}

/* Bytes that expo__put_value may write for this value. */
static size_t expo__label_room(size_t len, const char *fallback)
{
	if (len)
		return expo__mul(len, EXPO_LABEL_GROWTH);
	return fallback ? strlen(fallback) : 0;
}

static char *expo__put_value(char *p, const char *s, size_t len, const char *fallback)
{
	if (len)
		return expo__put_label(p, (const unsigned char *)s, len);
	return fallback ? expo__put(p, fallback, strlen(fallback)) : p;
}

static size_t expo__value_len(const char *s, size_t max)
{
	return s ? strnlen(s, max) : 0;
}

int expo__label_value(struct strbuf *sb, const char *s, size_t max, const char *fallback)
{
	size_t len = expo__value_len(s, max);
	char *p;

	if (strbuf__reserve(sb, expo__label_room(len, fallback)))
		return sb->err;
	p = expo__put_value(sb->buf + sb->len, s, len, fallback);
	*p = '\0';
	sb->len = (size_t)(p - sb->buf);
	return 0;
}

int expo__label_utf8(struct strbuf *sb, const char *s, size_t max, const char *fallback,
		     size_t *off)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = expo__value_len(s, max), i = 0;
	int seq;

	*off = sb->len;
	if (!len && fallback)
		strbuf__puts(sb, fallback);
	while (i < len) {
		seq = u[i] < 0x80 ? 1 : expo__utf8_seq(u + i, len - i);
		if (seq < 0) {
			strbuf__append(sb, "\xEF\xBF\xBD", 3);
			i += (size_t)-seq;
		} else {
			strbuf__append(sb, s + i, (size_t)seq);
			i += (size_t)seq;
		}
	}
	return strbuf__append(sb, "", 1);
}

int expo__escape(struct strbuf *sb, const char *s, const char *special)
{
	const char *p = s ? s : "";
	size_t run;

	for (;;) {
		run = strcspn(p, special);
		strbuf__append(sb, p, run);
		p += run;
		if (!*p)
			break;
		strbuf__append(sb, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n", 2);
		p++;
	}
	return sb->err;
}

int expo__help(struct strbuf *sb, const char *help)
{
	return expo__escape(sb, help, "\\\n");
}

static void expo__name(struct strbuf *sb, const char *ns, const char *name)
{
	if (ns && *ns) {
		strbuf__puts(sb, ns);
		strbuf__putc(sb, '_');
	}
	strbuf__puts(sb, name);
}

int expo__family(struct strbuf *sb, const char *ns, const char *name, const char *help,
		 const char *type)
{
	strbuf__append(sb, "# HELP ", 7);
	expo__name(sb, ns, name);
	strbuf__putc(sb, ' ');
	expo__help(sb, help);
	strbuf__append(sb, "\n# TYPE ", 8);
	expo__name(sb, ns, name);
	strbuf__putc(sb, ' ');
	strbuf__puts(sb, type);
	return strbuf__putc(sb, '\n');
}

/*
 * Upper bound of the line expo__sample writes; SIZE_MAX (a failed reserve) if it would
 * overflow. Reserving once per line keeps the per-byte work out of strbuf.
 */
static size_t expo__sample_room(const char *ns, const char *name, const char *suffix,
				const struct expo_label *labels, size_t n, const char *value)
{
	/* "_", "{", "}", " ", "\n" */
	size_t room = 5 + (ns ? strlen(ns) : 0) + strlen(name) + (suffix ? strlen(suffix) : 0);
	size_t i, len;

	room = expo__add(room, strlen(value));
	for (i = 0; i < n; i++) {
		len = expo__value_len(labels[i].value, labels[i].max);
		/* ",", "=", two quotes */
		room = expo__add(room, 4 + strlen(labels[i].name));
		room = expo__add(room, expo__label_room(len, labels[i].fallback));
	}
	return room;
}

static char *expo__put_name(char *p, const char *ns, const char *name)
{
	if (ns && *ns) {
		p = expo__put(p, ns, strlen(ns));
		*p++ = '_';
	}
	return expo__put(p, name, strlen(name));
}

int expo__sample(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		 const struct expo_label *labels, size_t n, const char *value)
{
	const struct expo_label *l;
	char *p;
	size_t i;

	if (strbuf__reserve(sb, expo__sample_room(ns, name, suffix, labels, n, value)))
		return sb->err;
	p = expo__put_name(sb->buf + sb->len, ns, name);
	if (suffix)
		p = expo__put(p, suffix, strlen(suffix));
	for (i = 0; i < n; i++) {
		l = &labels[i];
		*p++ = i ? ',' : '{';
		p = expo__put(p, l->name, strlen(l->name));
		*p++ = '=';
		*p++ = '"';
		p = expo__put_value(p, l->value, expo__value_len(l->value, l->max), l->fallback);
		*p++ = '"';
	}
	if (n)
		*p++ = '}';
	*p++ = ' ';
	p = expo__put(p, value, strlen(value));
	*p++ = '\n';
	*p = '\0';
	sb->len = (size_t)(p - sb->buf);
	return 0;
}

int expo__labels(struct strbuf *sb, const struct expo_label *labels, size_t n)
{
	size_t i, room = 0, len;
	char *p;

	for (i = 0; i < n; i++) {
		len = expo__value_len(labels[i].value, labels[i].max);
		room = expo__add(room, 4 + strlen(labels[i].name));
		room = expo__add(room, expo__label_room(len, labels[i].fallback));
	}
	if (strbuf__reserve(sb, room))
		return sb->err;
	p = sb->buf + sb->len;
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		p = expo__put(p, labels[i].name, strlen(labels[i].name));
		*p++ = '=';
		*p++ = '"';
		p = expo__put_value(p, labels[i].value,
				    expo__value_len(labels[i].value, labels[i].max),
				    labels[i].fallback);
		*p++ = '"';
	}
	*p = '\0';
	sb->len = (size_t)(p - sb->buf);
	return 0;
}

int expo__sample_text(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		      const char *before, const char *extra, const char *after, const char *value)
{
	size_t nb = strlen(before), ne = strlen(extra), na = strlen(after);
	size_t room = 5 + (ns ? strlen(ns) : 0) + strlen(name) + (suffix ? strlen(suffix) : 0);
	char *p;

	room = expo__add(expo__add(expo__add(expo__add(room, nb), ne), na), strlen(value));
	if (strbuf__reserve(sb, room))
		return sb->err;
	p = expo__put_name(sb->buf + sb->len, ns, name);
	if (suffix)
		p = expo__put(p, suffix, strlen(suffix));
	if (nb + ne + na) {
		*p++ = '{';
		p = expo__put(p, before, nb);
		p = expo__put(p, extra, ne);
		p = expo__put(p, after, na);
		*p++ = '}';
	}
	*p++ = ' ';
	p = expo__put(p, value, strlen(value));
	*p++ = '\n';
	*p = '\0';
	sb->len = (size_t)(p - sb->buf);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expo: the Prometheus text exposition format (0.0.4), one escaping or formatting rule per
 * function, so that the renderer never writes a raw string.
 *
 * Numbers are spelled as Python's repr(float), as the Python client (prometheus_client) spells
 * them, because `le` values are series identity: Prometheus stores le="1" and le="1.0" as
 * different series. (From 1e6 up the client rewrites repr into Go's exponent form, "1e+06";
 * no default bucket bound gets there, and for sample values both parse to the same number.)
 * All functions that take a strbuf append to it and return its sticky error (0 or negative);
 * once sb->err is set they write nothing.
 */
#ifndef CCPROXY_EXPO_H
#define CCPROXY_EXPO_H

#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

/* Longest output of expo__format_double / expo__format_u64, with the NUL. */
#define EXPO_NUMBER_MAX 32

/*
 * Python's repr(float): the shortest digits that read back as the same double, ".0" added to
 * integral values, exponent form ("1e-05", "1e+16") when the decimal exponent is < -4 or >= 16;
 * "+Inf", "-Inf", "NaN" as the exposition format wants. Like snprintf: writes at most size
 * bytes including the NUL (nothing if size is 0) and returns the length of the whole spelling,
 * which is below EXPO_NUMBER_MAX.
 */
size_t expo__format_double(char *buf, size_t size, double v);
/*
 * A u64 counter: its exact decimal digits and ".0" ("12.0"), the same as expo__format_double
 * up to 2^53; above, still exact rather than rounded to a double. Returns as above.
 */
size_t expo__format_u64(char *buf, size_t size, uint64_t v);

/*
 * A label value: reads at most `max` bytes of `s` (stops at NUL), escapes `\` `"` and newline,
 * replaces each invalid UTF-8 sequence with U+FFFD: one per maximal invalid subpart, as
 * Python's decode(errors="replace"), so overlongs, surrogates, code points above U+10FFFF,
 * stray continuation bytes and a sequence cut short by `max` or NUL all become U+FFFD.
 * An empty value (s NULL, max 0, or s[0] NUL) is written as `fallback` (NULL: written empty).
 */
int expo__label_value(struct strbuf *sb, const char *s, size_t max, const char *fallback);
/*
 * A label value as a reader of expo__label_value's output gets it back: the same U+FFFD
 * replacements and fallback, no escaping. Appends the value and a NUL (counted in sb->len);
 * *off gets where the value starts. For formats that carry strings unescaped (protobuf).
 */
int expo__label_utf8(struct strbuf *sb, const char *s, size_t max, const char *fallback,
		     size_t *off);
/* Escapes those of `\`, `"` and newline that `special` lists (as \\, \", \n); NULL is empty. */
int expo__escape(struct strbuf *sb, const char *s, const char *special);
/* HELP text: escapes `\` and newline; NULL is empty. */
int expo__help(struct strbuf *sb, const char *help);

/* "# HELP <ns>_<name> <help>\n# TYPE <ns>_<name> <type>\n"; ns "" or NULL: no prefix. */
int expo__family(struct strbuf *sb, const char *ns, const char *name, const char *help,
		 const char *type);

struct expo_label {
	const char *name;     /* a valid label name, written as is */
	const char *value;    /* raw bytes, escaped on output */
	size_t max;	      /* read at most: sizeof an array, or SIZE_MAX */
	const char *fallback; /* written for an empty value, or NULL */
};

/*
 * One sample line: <ns>_<name><suffix>{labels} <value>\n. Labels are written in the order
 * given (the caller sorts them by name, as the Python client does); no braces when n == 0.
 * ns "" or NULL: no prefix; suffix NULL: none; value is written as is (see expo__format_*).
 * Reserves the whole line once, so a line is either complete or not written at all.
 */
int expo__sample(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		 const struct expo_label *labels, size_t n, const char *value);

/*
 * The label list `name="value",...` of labels[0..n), escaped, without braces: for series
 * whose labels repeat line after line (a histogram's buckets), so they are escaped once.
 */
int expo__labels(struct strbuf *sb, const struct expo_label *labels, size_t n);
/*
 * One sample line whose labels are already text: <ns>_<name><suffix>{<before><extra><after>}
 * <value>\n, where before/after come from expo__labels (with the joining commas) and extra is
 * one more escaped label or "". No braces when all three are empty.
 */
int expo__sample_text(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		      const char *before, const char *extra, const char *after, const char *value);

#endif /* CCPROXY_EXPO_H */

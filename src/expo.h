/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expo: the Prometheus text exposition format (0.0.4), one escaping or formatting rule per
 * function, so that the renderer never writes a raw string.
 *
 * Numbers are spelled as the Python client (prometheus_client) spells them, because `le`
 * values are series identity: Prometheus stores le="1" and le="1.0" as different series.
 * All functions append to a strbuf and return its sticky error (0 or -ENOMEM).
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
 * "+Inf", "-Inf", "NaN" as the exposition format wants. Returns the length written.
 */
size_t expo__format_double(char *buf, size_t size, double v);
/* A u64 counter, exact, spelled as a Python float for integral values below 1e16 ("12.0"). */
size_t expo__format_u64(char *buf, size_t size, uint64_t v);

/*
 * A label value: reads at most `max` bytes of `s` (stops at NUL), escapes `\` `"` and newline,
 * replaces each invalid UTF-8 sequence with U+FFFD. An empty value is written as `fallback`
 * (NULL: written empty).
 */
int expo__label_value(struct strbuf *sb, const char *s, size_t max, const char *fallback);
/* HELP text: escapes `\` and newline. */
int expo__help(struct strbuf *sb, const char *help);

/* "# HELP <ns>_<name> <help>\n# TYPE <ns>_<name> <type>\n"; ns "" or NULL: no prefix. */
int expo__family(struct strbuf *sb, const char *ns, const char *name, const char *help,
		 const char *type);

struct expo_label {
	const char *name;     /* a valid label name, written as is */
	const char *value;    /* raw bytes, escaped on output */
	size_t max;	      /* bytes of value to read at most (fixed-size arrays) */
	const char *fallback; /* written for an empty value, or NULL */
};

/*
 * One sample line: <ns>_<name><suffix>{labels} <value>\n. Labels are written in the order
 * given (the caller sorts them by name, as the Python client does); no braces when n == 0.
 */
int expo__sample(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		 const struct expo_label *labels, size_t n, const char *value);

#endif /* CCPROXY_EXPO_H */

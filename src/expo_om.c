// SPDX-License-Identifier: BSD-2-Clause
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "expo.h"
#include "expo_om.h"

#define OM_TOTAL "_total"

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

/* The unit family[0..n) ends with, after an underscore. */
static const char *unit_of(const char *family, size_t n)
{
	static const char *const units[] = {"seconds", "bytes", "usd"};
	size_t i, l;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		l = strlen(units[i]);
		if (n > l + 1 && family[n - l - 1] == '_' && ends_with(family, n, units[i]))
			return units[i];
	}
	return NULL;
}

const char *expo_om__unit(const char *family)
{
	return unit_of(family, strlen(family));
}

int expo_om__help(struct strbuf *sb, const char *help)
{
	return expo__escape(sb, help, "\\\"\n");
}

static void family_name(struct strbuf *sb, const char *ns, const char *name, size_t n)
{
	if (ns && ns[0]) {
		strbuf__puts(sb, ns);
		strbuf__putc(sb, '_');
	}
	strbuf__append(sb, name, n);
}

static void meta_line(struct strbuf *sb, const char *what, const char *ns, const char *name,
		      size_t n)
{
	strbuf__puts(sb, "# ");
	strbuf__puts(sb, what);
	strbuf__putc(sb, ' ');
	family_name(sb, ns, name, n);
	strbuf__putc(sb, ' ');
}

bool expo_om__counter_family(const char *name, size_t *len)
{
	size_t n = strlen(name);

	*len = n;
	if (!ends_with(name, n, OM_TOTAL))
		return false;
	*len = n - strlen(OM_TOTAL);
	return true;
}

size_t expo_om__format_created(char *buf, size_t size, uint64_t ns)
{
	char frac[16];
	int n;

	snprintf(frac, sizeof(frac), "%09" PRIu64, ns % 1000000000u);
	for (n = 9; n > 1 && frac[n - 1] == '0'; n--)
		;
	return (size_t)snprintf(buf, size, "%" PRIu64 ".%.*s", ns / 1000000000u, n, frac);
}

int expo_om__family(struct strbuf *sb, const char *ns, const char *name, const char *help,
		    const char *type)
{
	size_t n = strlen(name);
	const char *unit;

	/* A counter's family drops its _total; one without cannot be an OpenMetrics counter. */
	if (!strcmp(type, "counter") && !expo_om__counter_family(name, &n))
		type = "unknown";
	else if (!strcmp(type, "untyped"))
		type = "unknown";
	meta_line(sb, "TYPE", ns, name, n);
	strbuf__puts(sb, type);
	strbuf__putc(sb, '\n');
	unit = unit_of(name, n);
	if (unit) {
		meta_line(sb, "UNIT", ns, name, n);
		strbuf__puts(sb, unit);
		strbuf__putc(sb, '\n');
	}
	meta_line(sb, "HELP", ns, name, n);
	expo_om__help(sb, help);
	strbuf__putc(sb, '\n');
	return sb->err;
}

int expo_om__eof(struct strbuf *sb)
{
	return strbuf__puts(sb, "# EOF\n");
}

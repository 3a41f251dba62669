// SPDX-License-Identifier: BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

enum log_level log__level = LOG_LEVEL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log__set_level(enum log_level level)
{
	log__level = level;
}

static void log__vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char ts[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	flockfile(stderr);
	fprintf(stderr, "ts=%s level=%s msg=\"", ts, level_names[level]);
	vfprintf(stderr, fmt, ap);
	fputs("\"\n", stderr);
	funlockfile(stderr);
}

void log__write(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log__vwrite(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG;
	char line[1024];
	int n;

	if (ours < log__level)
		return 0;
	/* libbpf ends its lines with '\n'; one log line each. */
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0 && (size_t)n < sizeof(line) && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log__write(ours, "%s", line);
	return 0;
}

void log__setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

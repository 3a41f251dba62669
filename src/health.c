// SPDX-License-Identifier: BSD-2-Clause
#include "health.h"

/* Bytes >= 0x80 pass through as \u00XX: paths are bytes, and JSON must stay valid. */
int health__json_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p;

	strbuf__putc(sb, '"');
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf__printf(sb, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			strbuf__printf(sb, "\\u%04x", *p);
		else
			strbuf__putc(sb, (char)*p);
	}
	return strbuf__putc(sb, '"');
}

static void health__target(struct strbuf *sb, const struct target *t)
{
	size_t i;

	strbuf__printf(sb, "{\"pid\": %d, \"state\": \"%s\", \"comm\": ", (int)t->pid,
		       t->alive ? "attached" : "exited");
	health__json_string(sb, t->comm);
	strbuf__puts(sb, ", \"container_id\": ");
	health__json_string(sb, t->container_id);
	strbuf__printf(sb, ", \"probes\": %d, \"objects\": [", __builtin_popcount(t->probes));
	for (i = 0; i < t->nobjects; i++) {
		if (i)
			strbuf__puts(sb, ", ");
		health__json_string(sb, t->objects[i].path);
	}
	strbuf__puts(sb, "]}");
}

int health__render(const struct config *cfg, const struct target *targets, size_t n,
		   struct strbuf *out)
{
	size_t i;

	strbuf__printf(out, "{\"status\": \"%s\", \"prometheus_enabled\": %s, \"namespace\": ",
		       cfg->enabled ? "healthy" : "disabled",
		       cfg->enabled && cfg->metrics_endpoint_enabled ? "true" : "false");
	if (cfg->namespace_[0])
		health__json_string(out, cfg->namespace_);
	else
		strbuf__puts(out, "null");
	strbuf__puts(out, ", \"processes\": [");
	for (i = 0; i < n; i++) {
		if (i)
			strbuf__puts(out, ", ");
		health__target(out, &targets[i]);
	}
	return strbuf__puts(out, "]}\n");
}

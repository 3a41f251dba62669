/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * health: the /metrics/health JSON. ccproxy's fields first (status, prometheus_enabled,
 * namespace), then the attached processes and their state.
 */
#ifndef CCPROXY_HEALTH_H
#define CCPROXY_HEALTH_H

#include <stddef.h>
#include "config.h"
#include "strbuf.h"
#include "target.h"

/* A JSON string literal, quotes included; control bytes and invalid UTF-8 escaped. */
int health__json_string(struct strbuf *sb, const char *s);
int health__render(const struct config *cfg, const struct target *targets, size_t n,
		   struct strbuf *out);

#endif /* CCPROXY_HEALTH_H */

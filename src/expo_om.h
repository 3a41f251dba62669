/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expo_om: what OpenMetrics 1.0 text changes in the text exposition (expo.h), and no more:
 * family metadata and the end marker. Sample lines are expo's, byte for byte: a Prometheus
 * that reads OpenMetrics stores the same series, names, labels and values as one that reads
 * text 0.0.4 (le spelled the same, counters keeping their _total samples).
 *
 * Metadata: a counter's family is its name without "_total" (a counter named otherwise is sent
 * as "unknown", its samples unchanged); "untyped" is "unknown"; a family whose name ends in
 * _seconds, _bytes or _usd (its counters' _total aside) gets that UNIT; HELP escapes `\`, `"`
 * and newline, as OpenMetrics wants. Gauges are sent as gauges whatever their name: the seed's
 * gauge ccproxy_pool_clients_total stays a gauge with that sample name, and the info family
 * ccproxy_info stays a gauge (OpenMetrics' info type would need a family named ccproxy and
 * breaks with an empty --namespace).
 */
#ifndef CCPROXY_EXPO_OM_H
#define CCPROXY_EXPO_OM_H

#include <stddef.h>
#include "strbuf.h"

/* "# TYPE", optional "# UNIT", "# HELP" lines of family <ns>_<name>; type as in text 0.0.4. */
int expo_om__family(struct strbuf *sb, const char *ns, const char *name, const char *help,
		    const char *type);
/* The unit a family name implies ("seconds", ...), or NULL; name without a counter's _total. */
const char *expo_om__unit(const char *family);
/* HELP text, OpenMetrics escaping: `\` `"` newline. */
int expo_om__help(struct strbuf *sb, const char *help);
/* The last line of every OpenMetrics exposition. */
int expo_om__eof(struct strbuf *sb);

#endif /* CCPROXY_EXPO_OM_H */

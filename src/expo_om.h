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
 *
 * _created samples (om_sink sends them, when asked) carry seconds since the epoch, written
 * exactly from the nanoseconds rather than through a double.
 */
#ifndef CCPROXY_EXPO_OM_H
#define CCPROXY_EXPO_OM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

/* "# TYPE", optional "# UNIT", "# HELP" lines of family <ns>_<name>; type as in text 0.0.4. */
int expo_om__family(struct strbuf *sb, const char *ns, const char *name, const char *help,
		    const char *type);
/* The unit a family name implies ("seconds", ...), or NULL; name without a counter's _total. */
const char *expo_om__unit(const char *family);
/* HELP text, OpenMetrics escaping: `\` `"` newline. */
int expo_om__help(struct strbuf *sb, const char *help);
/*
 * Whether a counter named `name` is an OpenMetrics counter (its name ends in _total); *len gets
 * the length of its family name, the name without _total.
 */
bool expo_om__counter_family(const char *name, size_t *len);
/*
 * A _created value: ns since the epoch as decimal seconds, "1700000000.25" (at least one
 * fraction digit, no trailing zeros beyond it). Like snprintf; the spelling is below
 * EXPO_NUMBER_MAX.
 */
size_t expo_om__format_created(char *buf, size_t size, uint64_t ns);
/* The last line of every OpenMetrics exposition. */
int expo_om__eof(struct strbuf *sb);

#endif /* CCPROXY_EXPO_OM_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * negotiate: what a scrape's Accept header asks for, among the formats offered, and whether
 * its Accept-Encoding takes gzip.
 *
 * Follows client_golang's expfmt.NegotiateIncludingOpenMetrics: the media ranges are taken
 * best q first (earlier first on a tie), and the first one naming a format on offer wins:
 *   application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited
 *   application/openmetrics-text;version=1.0.0 (or 0.0.1, or no version: 0.0.1)
 *   text/plain;version=0.0.4 (or no version)
 * Anything else, wildcards included, and no Accept at all, gives text 0.0.4. Unlike goautoneg,
 * q=0 refuses a range (RFC 9110) and a malformed range or q-value is skipped, never guessed.
 * A header over NEGOTIATE_ACCEPT_MAX bytes is not read: text 0.0.4.
 * Pure, no allocation, linear in the header's length.
 */
#ifndef CCPROXY_NEGOTIATE_H
#define CCPROXY_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>

enum negotiate_format {
	FMT_TEXT_0_0_4,
	FMT_OPENMETRICS_1_0_0,
	FMT_OPENMETRICS_0_0_1,
	FMT_PROTOBUF_DELIMITED,
	FMT_COUNT,
};

/* What --web.formats may offer; text 0.0.4 is always on offer, as the fallback. */
#define NEGOTIATE_OFFER_TEXT	    (1u << 0)
#define NEGOTIATE_OFFER_OPENMETRICS (1u << 1)
#define NEGOTIATE_OFFER_PROTOBUF    (1u << 2)
#define NEGOTIATE_OFFER_ALL \
	(NEGOTIATE_OFFER_TEXT | NEGOTIATE_OFFER_OPENMETRICS | NEGOTIATE_OFFER_PROTOBUF)

/* Longer Accept headers are not read (Prometheus' own is under 250 bytes). */
#define NEGOTIATE_ACCEPT_MAX 4096

/* The format to send for accept (NULL: no header) given offered, a NEGOTIATE_OFFER_* mask. */
enum negotiate_format negotiate__format(const char *accept, unsigned int offered);
/*
 * Whether Accept-Encoding (NULL: no header) lets the response be gzipped: gzip or x-gzip, else
 * `*`, with a q-value above 0; q=0 or a malformed q refuses, and a refusal of gzip sticks.
 */
bool negotiate__gzip(const char *accept_encoding);
/* The exact Content-Type header of a format's response (static string). */
const char *negotiate__content_type(enum negotiate_format f);

/*
 * Parses a --web.formats list: comma-separated "text", "openmetrics", "protobuf" (text is
 * added when missing). 0 with *offered set, or -EINVAL with *why (if not NULL) a static phrase
 * naming what is wrong.
 */
int negotiate__parse_offers(const char *list, unsigned int *offered, const char **why);
/* The list form of an offer mask, e.g. "text,openmetrics,protobuf", into buf. */
void negotiate__format_offers(unsigned int offered, char *buf, size_t size);

#endif /* CCPROXY_NEGOTIATE_H */

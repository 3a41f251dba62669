/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * expo_pb: the protobuf exposition format (application/vnd.google.protobuf;
 * proto=io.prometheus.client.MetricFamily; encoding=delimited): one MetricFamily message per
 * family, each after its length as a varint, packed by libprotobuf-c from proto/metrics.proto.
 *
 * Families are built one at a time: expo_pb__family starts one (and writes out the one before),
 * expo_pb__sample and expo_pb__histogram add its series, expo_pb__finish writes the last.
 * Label values carry the same bytes a text reader would read back (expo__label_utf8), so a
 * Prometheus stores the same series whatever the format. Histograms carry their classic
 * buckets (without +Inf, which the count implies) and, when given, their native buckets, as
 * client_golang does when a histogram has both; counters and histograms carry their
 * created_timestamp when it is known. Errors are sticky, as in strbuf: the first one is kept
 * and returned by every later call.
 */
#ifndef CCPROXY_EXPO_PB_H
#define CCPROXY_EXPO_PB_H

#include <stddef.h>
#include <stdint.h>
#include "expo.h"
#include "nhist.h"
#include "strbuf.h"

enum expo_pb_type {
	EXPO_PB_COUNTER,
	EXPO_PB_GAUGE,
	EXPO_PB_HISTOGRAM,
	EXPO_PB_UNTYPED,
};

struct expo_pb;

/* Writes to out (borrowed, must outlive the writer). NULL with errno ENOMEM. */
struct expo_pb *expo_pb__new(struct strbuf *out);
/* Starts family <ns>_<name> (ns NULL or "": no prefix). */
int expo_pb__family(struct expo_pb *pb, const char *ns, const char *name, const char *help,
		    enum expo_pb_type type);
/* A counter, gauge or untyped sample of the current family. */
int expo_pb__sample(struct expo_pb *pb, const struct expo_label *labels, size_t n, double value);
/*
 * A histogram of the current family: labels without le; buckets[0..nbounds] non-cumulative,
 * the last one above the last bound; sum in seconds; native NULL for none.
 */
int expo_pb__histogram(struct expo_pb *pb, const struct expo_label *labels, size_t n,
		       const double *bounds, size_t nbounds, const uint64_t *buckets, double sum,
		       const struct nhist_out *native);
/*
 * The created_timestamp of the series just added (a counter or histogram; -EINVAL for others):
 * ns since the epoch, sent as the well-known Timestamp's seconds and nanos.
 */
int expo_pb__created(struct expo_pb *pb, uint64_t ns);
/* Writes the last family; returns the first error of the writer's life, or 0. */
int expo_pb__finish(struct expo_pb *pb);
/* NULL-safe. Does not write: call expo_pb__finish first. */
void expo_pb__free(struct expo_pb *pb);

/* Appends v as a base-128 varint (the delimited framing's length prefix). */
int expo_pb__varint(struct strbuf *sb, uint64_t v);

#endif /* CCPROXY_EXPO_PB_H */

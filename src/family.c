// SPDX-License-Identifier: BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include "expo.h"
#include "family.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(type, m)                                    \
	{                                                 \
		offsetof(type, m), sizeof(((type *)0)->m) \
	}
/* The u64 counters of a value from member a to member b, both included. */
#define RUN(type, a, b)                                                                    \
	{                                                                                  \
		offsetof(type, a),                                                         \
			(offsetof(type, b) + sizeof(((type *)0)->b) - offsetof(type, a)) / \
				sizeof(uint64_t)                                           \
	}
#define NONE SIZE_MAX

#define REQ(m)	 FIELD(struct snap_request, key.m)
#define USAGE(m) FIELD(struct snap_usage, key.m)
#define ERR(m)	 FIELD(struct snap_error, key.m)
#define PROV(m)	 FIELD(struct snap_provider, key.m)
#define LAT(m)	 FIELD(struct snap_latency, key.m)

/* The requests' usage: the key's tail is a usage key, the value's usage a usage value. */
static const struct family_fold usage_from_requests = {
	.from = FAMILY_SRC_REQUESTS,
	.key_off = offsetof(struct snap_request, key.labels.model),
	.val_off = offsetof(struct snap_request, val.usage),
};

/* The requests' streams and latencies: the value's tail is a latency value. */
static const struct family_fold latency_from_requests = {
	.from = FAMILY_SRC_REQUESTS,
	.key_off = offsetof(struct snap_request, key.labels.model),
	.val_off = offsetof(struct snap_request, val.stream_chunks),
};

_Static_assert(offsetof(struct snap_request, val.dur_sum_ns) ==
			       offsetof(struct snap_request, val.usage) +
				       sizeof(struct ccproxy_usage) &&
		       offsetof(struct snap_request, val.buckets) ==
			       offsetof(struct snap_request, val.dur_sum_ns) + sizeof(uint64_t) &&
		       offsetof(struct snap_request, val.nh_lost) ==
			       offsetof(struct snap_request, val.buckets) +
				       sizeof(((struct ccproxy_req_val *)0)->buckets) &&
		       offsetof(struct snap_request, val.stream_chunks) ==
			       offsetof(struct snap_request, val.nh_lost) + sizeof(uint64_t) &&
		       offsetof(struct snap_request, val.series) ==
			       offsetof(struct snap_request, val.lat) +
				       sizeof(((struct ccproxy_req_val *)0)->lat) &&
		       sizeof(struct snap_request) ==
			       offsetof(struct snap_request, val.series) + sizeof(uint64_t),
	       "usage, duration, lost, stream and latency counters are one run; the series id ends "
	       "the value");
_Static_assert(offsetof(struct snap_usage, created_ns) + sizeof(uint64_t) ==
			       sizeof(struct snap_usage) &&
		       offsetof(struct snap_latency, created_ns) + sizeof(uint64_t) ==
			       sizeof(struct snap_latency),
	       "a source's rows with a fold end in their created_ns: the fold copies the value "
	       "before it");
_Static_assert(sizeof(struct snap_latency_val) ==
			       sizeof(struct ccproxy_req_val) -
				       offsetof(struct ccproxy_req_val, stream_chunks) &&
		       offsetof(struct snap_latency_val, series) ==
			       offsetof(struct ccproxy_req_val, series) -
				       offsetof(struct ccproxy_req_val, stream_chunks),
	       "a latency value is the requests value's tail: counters, then the series id");

const struct family_source family_sources[FAMILY_SRC_COUNT] =
	{
		[FAMILY_SRC_REQUESTS] =
			{
				.map = "requests",
				.map_id = SNAP_MAP_REQUESTS,
				.row_size = sizeof(struct snap_request),
				.key_size = sizeof(struct ccproxy_req_key),
				.val_off = offsetof(struct snap_request, val),
				.rows_off = offsetof(struct snapshot, requests),
				.count_off = offsetof(struct snapshot, nrequests),
				.tgid_off = offsetof(struct snap_request, key.tgid),
				.flags_off = offsetof(struct snap_request, key.flags),
				.strs = {REQ(labels.method), REQ(labels.endpoint),
					 REQ(labels.model), REQ(labels.service_type)},
				.nstrs = 4,
				.zero = {REQ(pad)},
				.nzero = 1,
				.sums = {RUN(struct snap_request, val.requests, val.requests),
					 RUN(struct snap_request, val.usage, val.lat)},
				.nsums = 2,
				.id_off = offsetof(struct snap_request, val.series),
				.created = offsetof(struct snap_request, val.created_ns),
			},
		[FAMILY_SRC_USAGE] =
			{
				.map = "usage",
				.map_id = SNAP_MAP_USAGE,
				.row_size = sizeof(struct snap_usage),
				.key_size = sizeof(struct ccproxy_usage_key),
				.val_off = offsetof(struct snap_usage, val),
				.rows_off = offsetof(struct snapshot, usage),
				.count_off = offsetof(struct snapshot, nusage),
				.tgid_off = offsetof(struct snap_usage, key.tgid),
				.flags_off = offsetof(struct snap_usage, key.flags),
				.strs = {USAGE(model), USAGE(service_type)},
				.nstrs = 2,
				.sums = {RUN(struct snap_usage, val.tokens, val.cost_nusd)},
				.nsums = 1,
				.created = offsetof(struct snap_usage, created_ns),
				.fold = &usage_from_requests,
			},
		[FAMILY_SRC_ERRORS] =
			{
				.map = "errors",
				.map_id = SNAP_MAP_ERRORS,
				.row_size = sizeof(struct snap_error),
				.key_size = sizeof(struct ccproxy_error_key),
				.val_off = offsetof(struct snap_error, count),
				.rows_off = offsetof(struct snapshot, errors),
				.count_off = offsetof(struct snapshot, nerrors),
				.tgid_off = offsetof(struct snap_error, key.tgid),
				.flags_off = offsetof(struct snap_error, key.flags),
				/* method is no label of errors_total: the BPF side leaves it empty.
				 */
				.strs = {ERR(labels.endpoint), ERR(labels.model),
					 ERR(labels.service_type), ERR(error_type)},
				.nstrs = 4,
				.zero = {ERR(labels.method)},
				.nzero = 1,
				.sums = {RUN(struct snap_error, count, count)},
				.nsums = 1,
				.created = offsetof(struct snap_error, created_ns),
			},
		[FAMILY_SRC_PROVIDER] =
			{
				.map = "provider",
				.map_id = SNAP_MAP_PROVIDER,
				.row_size = sizeof(struct snap_provider),
				.key_size = sizeof(struct ccproxy_provider_key),
				.val_off = offsetof(struct snap_provider, count),
				.rows_off = offsetof(struct snapshot, provider),
				.count_off = offsetof(struct snapshot, nprovider),
				.tgid_off = offsetof(struct snap_provider, key.uk.tgid),
				.flags_off = offsetof(struct snap_provider, key.uk.flags),
				.strs = {PROV(uk.model), PROV(uk.service_type)},
				.nstrs = 2,
				.zero = {PROV(pad)},
				.nzero = 1,
				/* One overflow series, whatever the statuses folded into it. */
				.overflow_zero = PROV(status),
				.sums = {RUN(struct snap_provider, count, count)},
				.nsums = 1,
				.created = offsetof(struct snap_provider, created_ns),
			},
		[FAMILY_SRC_LATENCY] =
			{
				.map_id = SNAP_MAP_COUNT, /* no map: folded from the requests */
				.row_size = sizeof(struct snap_latency),
				.key_size = sizeof(struct ccproxy_usage_key),
				.val_off = offsetof(struct snap_latency, val),
				.rows_off = offsetof(struct snapshot, latency),
				.count_off = offsetof(struct snapshot, nlatency),
				.tgid_off = offsetof(struct snap_latency, key.tgid),
				.flags_off = offsetof(struct snap_latency, key.flags),
				.strs = {LAT(model), LAT(service_type)},
				.nstrs = 2,
				.sums = {RUN(struct snap_latency, val.stream_chunks, val.lat)},
				.nsums = 1,
				.id_off = offsetof(struct snap_latency, val.series),
				.created = offsetof(struct snap_latency, created_ns),
				.fold = &latency_from_requests,
			},
		/* The pool's created_ns: its counters and histogram are the node's only ones. */
		[FAMILY_SRC_NODE] = {.row_size = sizeof(struct snapshot),
				     .tgid_off = NONE,
				     .flags_off = NONE,
				     .created = offsetof(struct snapshot, pool.created_ns)},
		[FAMILY_SRC_VERSIONS] = {.row_size = CCPROXY_VERSION_MAX,
					 .tgid_off = NONE,
					 .flags_off = NONE},
};

const double family_pool_bounds[CCPROXY_POOL_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1,
							 0.25,	0.5,   1.0,  2.5,  5.0};

#define LSTR(n, f)                                                \
	{                                                         \
		.name = (n), .from = FAMILY_LABEL_STR, .field = f \
	}
#define LCONST(n, v)                                                  \
	{                                                             \
		.name = (n), .from = FAMILY_LABEL_CONST, .value = (v) \
	}
#define LLE                                           \
	{                                             \
		.name = "le", .from = FAMILY_LABEL_LE \
	}

#define TOKENS(t) offsetof(struct snap_usage, val.tokens[CCPROXY_TOKENS_##t])
static const struct family_variant token_types[] = {
	{"input", TOKENS(INPUT)},
	{"output", TOKENS(OUTPUT)},
	{"cache_read", TOKENS(CACHE_READ)},
	{"cache_write", TOKENS(CACHE_WRITE)},
};

#define NODE(m) offsetof(struct snapshot, m)
#define POOL(c) NODE(pool.counters[CCPROXY_POOL_##c])
#define NODE_COUNTER(n, h, m)                                                             \
	{                                                                                 \
		.name = (n), .help = (h), .type = FAMILY_COUNTER, .src = FAMILY_SRC_NODE, \
		.value = FAMILY_VALUE_U64, .val = (m), .collect = FAMILY_COLLECT_POOL     \
	}
#define NODE_GAUGE(n, h, m, c)                                                          \
	{                                                                               \
		.name = (n), .help = (h), .type = FAMILY_GAUGE, .src = FAMILY_SRC_NODE, \
		.value = FAMILY_VALUE_U64, .val = (m), .collect = (c)                   \
	}

#define LAT_HIST(n, h, which)                                                                  \
	{                                                                                      \
		.name = (n), .help = (h), .type = FAMILY_HISTOGRAM, .src = FAMILY_SRC_LATENCY, \
		.labels = {LLE, LSTR("model", LAT(model)),                                     \
			   LSTR("service_type", LAT(service_type))},                           \
		.nlabels = 3, .value = FAMILY_VALUE_HIST,                                      \
		.val = offsetof(struct snap_latency, val.lat[which].buckets),                  \
		.sum = offsetof(struct snap_latency, val.lat[which].sum_ns),                   \
		.nh_lost = offsetof(struct snap_latency, val.lat[which].nh_lost),              \
		.nh_hist = CCPROXY_NH_LATENCY + (which),                                       \
		.bounds = FAMILY_BOUNDS_LATENCY + (which), .collect = FAMILY_COLLECT_LATENCY   \
	}
#define LAT_COUNTER(n, h, m)                                                                      \
	{                                                                                         \
		.name = (n), .help = (h), .type = FAMILY_COUNTER, .src = FAMILY_SRC_LATENCY,      \
		.labels = {LSTR("model", LAT(model)), LSTR("service_type", LAT(service_type))},   \
		.nlabels = 2, .value = FAMILY_VALUE_U64, .val = offsetof(struct snap_latency, m), \
		.collect = FAMILY_COLLECT_LATENCY                                                 \
	}

/* In the Python plugin's order: the output is compared with its exposition line by line. */
const struct family families[] = {
	{
		.name = "requests_total",
		.help = "Total number of requests processed",
		.type = FAMILY_COUNTER,
		.src = FAMILY_SRC_REQUESTS,
		.labels = {LSTR("endpoint", REQ(labels.endpoint)),
			   LSTR("method", REQ(labels.method)),
			   LSTR("model", REQ(labels.model)),
			   LSTR("service_type", REQ(labels.service_type)),
			   {.name = "status", .from = FAMILY_LABEL_STATUS, .field = REQ(status)}},
		.nlabels = 5,
		.value = FAMILY_VALUE_U64,
		.val = offsetof(struct snap_request, val.requests),
		.collect = FAMILY_COLLECT_REQUEST,
	},
	{
		/* Method and status are no labels here: their rows fold into one series. */
		.name = "response_duration_seconds",
		.help = "Response time in seconds",
		.type = FAMILY_HISTOGRAM,
		.src = FAMILY_SRC_REQUESTS,
		.group = true,
		.labels = {LSTR("endpoint", REQ(labels.endpoint)), LLE,
			   LSTR("model", REQ(labels.model)),
			   LSTR("service_type", REQ(labels.service_type))},
		.nlabels = 4,
		.value = FAMILY_VALUE_HIST,
		.val = offsetof(struct snap_request, val.buckets),
		.sum = offsetof(struct snap_request, val.dur_sum_ns),
		.nh_lost = offsetof(struct snap_request, val.nh_lost),
		.nh_hist = CCPROXY_NH_RESPONSE,
		.bounds = FAMILY_BOUNDS_RESPONSE,
		.collect = FAMILY_COLLECT_REQUEST,
	},
	{
		.name = "tokens_total",
		.help = "Total tokens processed",
		.type = FAMILY_COUNTER,
		.src = FAMILY_SRC_USAGE,
		.labels = {LSTR("model", USAGE(model)),
			   LSTR("service_type", USAGE(service_type)),
			   {.name = "type", .from = FAMILY_LABEL_VARIANT}},
		.nlabels = 3,
		.value = FAMILY_VALUE_U64,
		.variants = token_types,
		.nvariants = ARRAY_SIZE(token_types),
		.collect = FAMILY_COLLECT_TOKEN,
	},
	{
		.name = "cost_usd_total",
		.help = "Total cost in USD",
		.type = FAMILY_COUNTER,
		.src = FAMILY_SRC_USAGE,
		.labels = {LCONST("cost_type", "total"), LSTR("model", USAGE(model)),
			   LSTR("service_type", USAGE(service_type))},
		.nlabels = 3,
		.value = FAMILY_VALUE_NANO,
		.val = offsetof(struct snap_usage, val.cost_nusd),
		.collect = FAMILY_COLLECT_COST,
	},
	{
		.name = "errors_total",
		.help = "Total number of errors",
		.type = FAMILY_COUNTER,
		.src = FAMILY_SRC_ERRORS,
		.labels = {LSTR("endpoint", ERR(labels.endpoint)),
			   LSTR("error_type", ERR(error_type)), LSTR("model", ERR(labels.model)),
			   LSTR("service_type", ERR(labels.service_type))},
		.nlabels = 4,
		.value = FAMILY_VALUE_U64,
		.val = offsetof(struct snap_error, count),
		.collect = FAMILY_COLLECT_ERROR,
	},
	NODE_GAUGE("active_requests", "Number of currently active requests", NODE(active_requests),
		   FAMILY_COLLECT_REQUEST),
	{
		.name = "info",
		.help = "System information",
		.type = FAMILY_GAUGE,
		.src = FAMILY_SRC_VERSIONS,
		.labels = {LCONST("metrics_enabled", "true"),
			   LSTR("version", ((struct family_field){0, CCPROXY_VERSION_MAX}))},
		.nlabels = 2,
		.value = FAMILY_VALUE_ONE,
	},
	{
		.name = "up",
		.help = "Service is up and running",
		.type = FAMILY_GAUGE,
		.src = FAMILY_SRC_NODE,
		.bare = true,
		.labels = {LCONST("job", "ccproxy")},
		.nlabels = 1,
		.value = FAMILY_VALUE_BOOL,
		.val = NODE(attached),
	},
	NODE_GAUGE("pool_clients_total", "Total number of clients in the pool", NODE(clients_total),
		   FAMILY_COLLECT_POOL),
	NODE_GAUGE("pool_clients_available", "Number of available clients in the pool",
		   NODE(clients_available), FAMILY_COLLECT_POOL),
	NODE_GAUGE("pool_clients_active", "Number of active clients currently processing requests",
		   NODE(clients_active), FAMILY_COLLECT_POOL),
	NODE_COUNTER("pool_connections_created_total", "Total number of pool connections created",
		     POOL(CREATED)),
	NODE_COUNTER("pool_connections_closed_total", "Total number of pool connections closed",
		     POOL(CLOSED)),
	NODE_COUNTER("pool_acquisitions_total", "Total number of client acquisitions from pool",
		     POOL(ACQUISITIONS)),
	NODE_COUNTER("pool_releases_total", "Total number of client releases to pool",
		     POOL(RELEASES)),
	NODE_COUNTER("pool_health_check_failures_total",
		     "Total number of pool health check failures", POOL(HEALTH_FAILURES)),
	{
		.name = "pool_acquisition_duration_seconds",
		.help = "Time taken to acquire a client from the pool",
		.type = FAMILY_HISTOGRAM,
		.src = FAMILY_SRC_NODE,
		.labels = {LLE},
		.nlabels = 1,
		.value = FAMILY_VALUE_HIST,
		.val = NODE(pool.buckets),
		.sum = NODE(pool.wait_sum_ns),
		.nh_lost = NODE(pool.nh_lost),
		.nh_hist = CCPROXY_NH_POOL,
		.bounds = FAMILY_BOUNDS_POOL,
		.collect = FAMILY_COLLECT_POOL,
	},
	/* Extensions, after every family of the plugin: where a request's time goes. */
	LAT_HIST("time_to_first_token_seconds",
		 "Time from request start to the first streamed chunk", CCPROXY_LAT_TTFT),
	LAT_HIST("provider_duration_seconds", "Time from sending to the provider to its last byte",
		 CCPROXY_LAT_PROVIDER),
	LAT_HIST("proxy_overhead_seconds", "Request time not spent waiting for the provider",
		 CCPROXY_LAT_OVERHEAD),
	LAT_HIST("time_per_output_token_seconds", "Streaming time per output token after the first",
		 CCPROXY_LAT_TPOT),
	LAT_COUNTER("stream_chunks_total", "Streamed chunks received from providers",
		    val.stream_chunks),
	LAT_COUNTER("stream_bytes_total", "Streamed bytes received from providers",
		    val.stream_bytes),
	{
		.name = "provider_responses_total",
		.help = "Provider responses by HTTP status",
		.type = FAMILY_COUNTER,
		.src = FAMILY_SRC_PROVIDER,
		.labels = {LSTR("model", PROV(uk.model)),
			   LSTR("service_type", PROV(uk.service_type)),
			   {.name = "status", .from = FAMILY_LABEL_STATUS, .field = PROV(status)}},
		.nlabels = 3,
		.value = FAMILY_VALUE_U64,
		.val = offsetof(struct snap_provider, count),
		.collect = FAMILY_COLLECT_LATENCY,
	},
};

const size_t nfamilies = ARRAY_SIZE(families);

const double *family__bounds(const struct family *f, const struct family_opts *b, size_t *n)
{
	unsigned int lat = f->bounds - FAMILY_BOUNDS_LATENCY;

	switch (f->bounds) {
	case FAMILY_BOUNDS_NONE:
		*n = 0;
		return NULL;
	case FAMILY_BOUNDS_POOL:
		*n = CCPROXY_POOL_BUCKETS;
		return family_pool_bounds;
	case FAMILY_BOUNDS_RESPONSE:
		*n = b->nresponse;
		return b->response;
	default:
		*n = lat < CCPROXY_LATENCIES ? b->nlatency[lat] : 0;
		return lat < CCPROXY_LATENCIES ? b->latency[lat] : NULL;
	}
}

const void *family__rows(const struct snapshot *snap, enum family_src src, size_t *n)
{
	static const char no_version[CCPROXY_VERSION_MAX];
	const struct family_source *s = &family_sources[src];

	switch (src) {
	case FAMILY_SRC_NODE:
		*n = 1;
		return snap;
	case FAMILY_SRC_VERSIONS:
		*n = snap->nversions ? snap->nversions : 1;
		return snap->nversions ? (const void *)snap->versions : no_version;
	default:
		*n = *(const size_t *)((const char *)snap + s->count_off);
		return *(void *const *)((const char *)snap + s->rows_off);
	}
}

static const char *const type_names[] = {
	[FAMILY_COUNTER] = "counter",
	[FAMILY_GAUGE] = "gauge",
	[FAMILY_HISTOGRAM] = "histogram",
};

static const char *const collect_names[] = {
	[FAMILY_COLLECT_ALWAYS] = "",	      [FAMILY_COLLECT_REQUEST] = "request",
	[FAMILY_COLLECT_TOKEN] = "token",     [FAMILY_COLLECT_COST] = "cost",
	[FAMILY_COLLECT_ERROR] = "error",     [FAMILY_COLLECT_POOL] = "pool",
	[FAMILY_COLLECT_LATENCY] = "latency",
};

/* Names, HELP texts and label values of the table are plain ASCII without quotes. */
static void json_str(struct strbuf *sb, const char *s)
{
	strbuf__printf(sb, "\"%s\"", s);
}

static void json_bounds(struct strbuf *sb, const double *v, size_t n)
{
	char num[EXPO_NUMBER_MAX];
	size_t i;

	strbuf__printf(sb, "[");
	for (i = 0; i < n; i++) {
		expo__format_double(num, sizeof(num), v[i]);
		strbuf__printf(sb, "%s%s", i ? ", " : "", num);
	}
	strbuf__printf(sb, "]");
}

static void json_family(struct strbuf *sb, const struct family *f, const char *ns,
			const struct family_opts *b)
{
	const double *bounds;
	size_t i, nbounds;

	strbuf__printf(sb, "    {\"name\": \"%s%s%s\", \"help\": ", f->bare || !ns[0] ? "" : ns,
		       f->bare || !ns[0] ? "" : "_", f->name);
	json_str(sb, f->help);
	strbuf__printf(sb, ", \"type\": \"%s\", \"collect\": \"%s\", \"labels\": [",
		       type_names[f->type], collect_names[f->collect]);
	for (i = 0; i < f->nlabels; i++) {
		strbuf__printf(sb, "%s", i ? ", " : "");
		json_str(sb, f->labels[i].name);
	}
	strbuf__printf(sb, "]");
	if (f->nvariants) {
		strbuf__printf(sb, ", \"variants\": [");
		for (i = 0; i < f->nvariants; i++) {
			strbuf__printf(sb, "%s", i ? ", " : "");
			json_str(sb, f->variants[i].value);
		}
		strbuf__printf(sb, "]");
	}
	if (f->bounds != FAMILY_BOUNDS_NONE) {
		bounds = family__bounds(f, b, &nbounds);
		strbuf__printf(sb, ", \"buckets\": ");
		json_bounds(sb, bounds, nbounds);
	}
	if (f->nh_lost)
		strbuf__printf(sb, ", \"native\": true");
	strbuf__printf(sb, "}");
}

int family__json(struct strbuf *sb, const char *namespace_, const struct family_opts *b)
{
	static const char *const probes[CCPROXY_PROBE_COUNT] = {CCPROXY_PROBE_NAMES};
	size_t i, n = 0;

	strbuf__printf(sb, "{\n  \"families\": [\n");
	for (i = 0; i < nfamilies; i++) {
		if (families[i].collect == FAMILY_COLLECT_LATENCY && !b->serve_latency)
			continue;
		strbuf__printf(sb, "%s", n++ ? ",\n" : "");
		json_family(sb, &families[i], namespace_, b);
	}
	strbuf__printf(sb, "\n  ],\n  \"probes\": [");
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		strbuf__printf(sb, "%s", i ? ", " : "");
		json_str(sb, probes[i]);
	}
	strbuf__printf(sb, "]\n}\n");
	return sb->err;
}

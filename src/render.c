// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"
#include "render.h"

#define U SNAP_EMPTY_LABEL

static const char *const token_types[CCPROXY_TOKEN_TYPES] = {
	[CCPROXY_TOKENS_INPUT] = "input",
	[CCPROXY_TOKENS_OUTPUT] = "output",
	[CCPROXY_TOKENS_CACHE_READ] = "cache_read",
	[CCPROXY_TOKENS_CACHE_WRITE] = "cache_write",
};

static const double pool_bounds[CCPROXY_POOL_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1,
							 0.25,	0.5,   1.0,  2.5,  5.0};

static const char *const drop_reasons[CCPROXY_DROP_COUNT] = {
	[CCPROXY_DROP_READ_FAULT] = "read_fault",
	[CCPROXY_DROP_BAD_ABI] = "bad_abi",
	[CCPROXY_DROP_INVALID] = "invalid_value",
	[CCPROXY_DROP_INFLIGHT_FULL] = "inflight_full",
	[CCPROXY_DROP_UNPAIRED] = "unpaired",
	[CCPROXY_DROP_FOLDED] = "folded",
	[CCPROXY_DROP_MAP_FULL] = "map_full",
	[CCPROXY_DROP_SATURATED] = "saturated",
	[CCPROXY_DROP_INFLIGHT_PROCESS] = "inflight_per_process",
};

static const char *const probe_names[CCPROXY_PROBE_COUNT] = {CCPROXY_PROBE_NAMES};

/* A label from a fixed array, or the overflow marker for an overflow series. */
#define LBL(n, arr, overflow)                                                                  \
	{                                                                                      \
		.name = (n), .value = (overflow) ? RENDER_OVERFLOW_LABEL : (arr),              \
		.max = (overflow) ? sizeof(RENDER_OVERFLOW_LABEL) : sizeof(arr), .fallback = U \
	}
#define CONST_LBL(n, v)                                                       \
	{                                                                     \
		.name = (n), .value = (v), .max = strlen(v), .fallback = NULL \
	}

/* A family's own labels, plus pid and container_id. */
#define MAX_LABELS 8

static void sort_labels(struct expo_label *l, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct expo_label cur = l[i];

		for (j = i; j > 0 && strcmp(l[j - 1].name, cur.name) > 0; j--)
			l[j] = l[j - 1];
		l[j] = cur;
	}
}

/*
 * With per-process labels, adds pid (and container_id, for a containerised process) to
 * l[0..n) and keeps the names sorted, as the Python client prints them. Returns the count.
 */
static size_t add_proc_labels(const struct snapshot *snap, const struct render_opts *o,
			      uint32_t tgid, struct expo_label *l, size_t n, char *pid,
			      size_t pidsize)
{
	const struct snap_proc *p;

	if (!o->per_process || !tgid)
		return n;
	snprintf(pid, pidsize, "%u", tgid);
	l[n++] = (struct expo_label)CONST_LBL("pid", pid);
	p = snapshot__proc(snap, tgid);
	if (p && p->container_id[0])
		l[n++] = (struct expo_label)CONST_LBL("container_id", p->container_id);
	sort_labels(l, n);
	return n;
}

static int u64_sample(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		      const struct expo_label *labels, size_t n, uint64_t v)
{
	char num[EXPO_NUMBER_MAX];

	expo__format_u64(num, sizeof(num), v);
	return expo__sample(sb, ns, name, suffix, labels, n, num);
}

static int dbl_sample(struct strbuf *sb, const char *ns, const char *name, const char *suffix,
		      const struct expo_label *labels, size_t n, double v)
{
	char num[EXPO_NUMBER_MAX];

	expo__format_double(num, sizeof(num), v);
	return expo__sample(sb, ns, name, suffix, labels, n, num);
}

static const char *status_label(const struct ccproxy_req_key *k, char *buf, size_t size)
{
	if (k->flags & CCPROXY_KEY_OVERFLOW)
		return RENDER_OVERFLOW_LABEL;
	if (!k->status)
		return "error";
	snprintf(buf, size, "%u", k->status);
	return buf;
}

static void render_requests(const struct snapshot *snap, const struct render_opts *o,
			    struct strbuf *sb)
{
	const char *ns = o->namespace_;
	size_t i, n;

	expo__family(sb, ns, "requests_total", "Total number of requests processed", "counter");
	for (i = 0; i < snap->nrequests; i++) {
		const struct ccproxy_req_key *k = &snap->requests[i].key;
		bool of = k->flags & CCPROXY_KEY_OVERFLOW;
		char buf[16], pid[16];
		const char *status = status_label(k, buf, sizeof(buf));
		struct expo_label l[MAX_LABELS] = {
			LBL("endpoint", k->labels.endpoint, of),
			LBL("method", k->labels.method, of),
			LBL("model", k->labels.model, of),
			LBL("service_type", k->labels.service_type, of),
			CONST_LBL("status", status),
		};

		if (!snap->requests[i].val.requests)
			continue;
		n = add_proc_labels(snap, o, k->tgid, l, 5, pid, sizeof(pid));
		u64_sample(sb, ns, "requests_total", "", l, n, snap->requests[i].val.requests);
	}
}

/* The histogram labels of a requests key, as rendered: an overflow-like key reads as one. */
struct hist_view {
	const char *endpoint, *model, *service_type;
	uint32_t tgid, flags;
};

static void hist_view(const struct ccproxy_req_key *k, struct hist_view *v)
{
	static const struct ccproxy_labels none;
	bool of = snapshot__hist_overflow(k);
	const struct ccproxy_labels *l = of ? &none : &k->labels;

	*v = (struct hist_view){l->endpoint, l->model, l->service_type, k->tgid,
				of ? CCPROXY_KEY_OVERFLOW : k->flags};
}

/*
 * Histogram series group requests by (endpoint, model, service_type): method and status fold.
 * Keys whose three labels read "__overflow__" group with the overflow series they print as.
 */
static int cmp_hist_key(const void *a, const void *b)
{
	struct hist_view x, y;
	int c;

	hist_view(&(*(const struct snap_request *const *)a)->key, &x);
	hist_view(&(*(const struct snap_request *const *)b)->key, &y);
	if ((c = memcmp(x.endpoint, y.endpoint, CCPROXY_ENDPOINT_MAX)))
		return c;
	if ((c = memcmp(x.model, y.model, CCPROXY_MODEL_MAX)))
		return c;
	if ((c = memcmp(x.service_type, y.service_type, CCPROXY_SERVICE_TYPE_MAX)))
		return c;
	if (x.tgid != y.tgid)
		return x.tgid < y.tgid ? -1 : 1;
	return (int)x.flags - (int)y.flags;
}

static uint64_t bucket_total(const uint64_t *b, size_t n)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i <= n; i++)
		total = snap_add(total, b[i]);
	return total;
}

/*
 * _bucket (cumulative), _count, _sum of one series; the label named "le" is the bound's slot.
 * The other labels are escaped once into text (scratch) and reused on every line.
 */
static void histogram_series(struct strbuf *sb, const char *ns, const char *name,
			     const struct expo_label *l, size_t nl, const double *bounds,
			     size_t nbounds, const uint64_t *buckets, uint64_t sum_ns,
			     struct strbuf *scratch)
{
	uint64_t cum = 0, count = bucket_total(buckets, nbounds);
	char le[EXPO_NUMBER_MAX + 8], num[EXPO_NUMBER_MAX];
	size_t i, le_at = 0, after_off, both_off;

	while (le_at < nl && strcmp(l[le_at].name, "le"))
		le_at++;
	if (le_at == nl)
		return;
	/* scratch: `before,` NUL `,after` NUL `before,after` (for _count and _sum) NUL */
	strbuf__reset(scratch);
	expo__labels(scratch, l, le_at);
	strbuf__append(scratch, le_at ? "," : "", le_at ? 2 : 1);
	after_off = scratch->len;
	strbuf__append(scratch, ",", le_at + 1 < nl ? 1 : 0);
	expo__labels(scratch, l + le_at + 1, nl - le_at - 1);
	strbuf__append(scratch, "", 1);
	both_off = scratch->len;
	expo__labels(scratch, l, le_at);
	strbuf__append(scratch, ",", le_at && le_at + 1 < nl ? 1 : 0);
	expo__labels(scratch, l + le_at + 1, nl - le_at - 1);
	if (scratch->err) {
		sb->err = scratch->err;
		return;
	}
	for (i = 0; i <= nbounds; i++) {
		cum = snap_add(cum, i < nbounds ? buckets[i] : 0);
		strcpy(le, "le=\"");
		if (i < nbounds)
			expo__format_double(le + 4, EXPO_NUMBER_MAX, bounds[i]);
		else
			strcpy(le + 4, "+Inf");
		strcat(le, "\"");
		expo__format_u64(num, sizeof(num), i < nbounds ? cum : count);
		expo__sample_text(sb, ns, name, "_bucket", scratch->buf, le,
				  scratch->buf + after_off, num);
	}
	expo__format_u64(num, sizeof(num), count);
	expo__sample_text(sb, ns, name, "_count", scratch->buf + both_off, "", "", num);
	expo__format_double(num, sizeof(num), (double)sum_ns / 1e9);
	expo__sample_text(sb, ns, name, "_sum", scratch->buf + both_off, "", "", num);
}

static void render_duration_group(struct strbuf *sb, const struct snapshot *snap,
				  const struct render_opts *o, const struct ccproxy_req_key *k,
				  const uint64_t *buckets, uint64_t sum_ns, struct strbuf *scratch)
{
	bool of = k->flags & CCPROXY_KEY_OVERFLOW;
	char pid[16];
	struct expo_label l[MAX_LABELS] = {
		LBL("endpoint", k->labels.endpoint, of),
		{.name = "le"},
		LBL("model", k->labels.model, of),
		LBL("service_type", k->labels.service_type, of),
	};
	size_t n = add_proc_labels(snap, o, k->tgid, l, 4, pid, sizeof(pid));

	histogram_series(sb, o->namespace_, "response_duration_seconds", l, n, o->buckets,
			 o->nbuckets, buckets, sum_ns, scratch);
}

static int render_durations(const struct snapshot *snap, const struct render_opts *o,
			    struct strbuf *sb)
{
	const struct snap_request **idx;
	uint64_t buckets[CCPROXY_MAX_BUCKETS + 1], sum_ns = 0;
	struct strbuf scratch = STRBUF_INIT;
	size_t i, j, n = 0;

	expo__family(sb, o->namespace_, "response_duration_seconds", "Response time in seconds",
		     "histogram");
	idx = malloc((snap->nrequests + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < snap->nrequests; i++) {
		if (bucket_total(snap->requests[i].val.buckets, o->nbuckets))
			idx[n++] = &snap->requests[i];
	}
	qsort(idx, n, sizeof(*idx), cmp_hist_key);
	for (i = 0; i < n; i++) {
		if (!i || cmp_hist_key(&idx[i - 1], &idx[i])) {
			memset(buckets, 0, sizeof(buckets));
			sum_ns = 0;
		}
		for (j = 0; j <= o->nbuckets; j++)
			buckets[j] = snap_add(buckets[j], idx[i]->val.buckets[j]);
		sum_ns = snap_add(sum_ns, idx[i]->val.dur_sum_ns);
		if (i + 1 == n || cmp_hist_key(&idx[i], &idx[i + 1]))
			render_duration_group(sb, snap, o, &idx[i]->key, buckets, sum_ns, &scratch);
	}
	free(idx);
	strbuf__free(&scratch);
	return 0;
}

static void render_tokens(const struct snapshot *snap, const struct render_opts *o,
			  struct strbuf *sb)
{
	const char *ns = o->namespace_;
	size_t i, t, n;

	expo__family(sb, ns, "tokens_total", "Total tokens processed", "counter");
	for (i = 0; i < snap->nusage; i++) {
		const struct ccproxy_usage_key *k = &snap->usage[i].key;
		bool of = k->flags & CCPROXY_KEY_OVERFLOW;
		char pid[16];

		for (t = 0; t < CCPROXY_TOKEN_TYPES; t++) {
			struct expo_label l[MAX_LABELS] = {
				LBL("model", k->model, of),
				LBL("service_type", k->service_type, of),
				CONST_LBL("type", token_types[t]),
			};

			if (!snap->usage[i].val.tokens[t])
				continue;
			n = add_proc_labels(snap, o, k->tgid, l, 3, pid, sizeof(pid));
			u64_sample(sb, ns, "tokens_total", "", l, n, snap->usage[i].val.tokens[t]);
		}
	}
}

static void render_cost(const struct snapshot *snap, const struct render_opts *o, struct strbuf *sb)
{
	const char *ns = o->namespace_;
	size_t i, n;

	expo__family(sb, ns, "cost_usd_total", "Total cost in USD", "counter");
	for (i = 0; i < snap->nusage; i++) {
		const struct ccproxy_usage_key *k = &snap->usage[i].key;
		bool of = k->flags & CCPROXY_KEY_OVERFLOW;
		char pid[16];
		struct expo_label l[MAX_LABELS] = {
			CONST_LBL("cost_type", "total"),
			LBL("model", k->model, of),
			LBL("service_type", k->service_type, of),
		};

		if (!snap->usage[i].val.cost_nusd)
			continue;
		n = add_proc_labels(snap, o, k->tgid, l, 3, pid, sizeof(pid));
		dbl_sample(sb, ns, "cost_usd_total", "", l, n,
			   (double)snap->usage[i].val.cost_nusd / 1e9);
	}
}

static void render_errors(const struct snapshot *snap, const struct render_opts *o,
			  struct strbuf *sb)
{
	const char *ns = o->namespace_;
	size_t i, n;

	expo__family(sb, ns, "errors_total", "Total number of errors", "counter");
	for (i = 0; i < snap->nerrors; i++) {
		const struct ccproxy_error_key *k = &snap->errors[i].key;
		bool of = k->flags & CCPROXY_KEY_OVERFLOW;
		char pid[16];
		struct expo_label l[MAX_LABELS] = {
			LBL("endpoint", k->labels.endpoint, of),
			LBL("error_type", k->error_type, of),
			LBL("model", k->labels.model, of),
			LBL("service_type", k->labels.service_type, of),
		};

		if (!snap->errors[i].count)
			continue;
		n = add_proc_labels(snap, o, k->tgid, l, 4, pid, sizeof(pid));
		u64_sample(sb, ns, "errors_total", "", l, n, snap->errors[i].count);
	}
}

static void render_gauge(struct strbuf *sb, const char *ns, const char *name, const char *help,
			 uint64_t v)
{
	expo__family(sb, ns, name, help, "gauge");
	u64_sample(sb, ns, name, "", NULL, 0, v);
}

static void render_counter(struct strbuf *sb, const char *ns, const char *name, const char *help,
			   uint64_t v)
{
	expo__family(sb, ns, name, help, "counter");
	u64_sample(sb, ns, name, "", NULL, 0, v);
}

static void render_info_up(const struct snapshot *snap, const char *ns, struct strbuf *sb)
{
	const struct expo_label job[] = {CONST_LBL("job", "ccproxy")};
	size_t i;

	expo__family(sb, ns, "info", "System information", "gauge");
	for (i = 0; i < (snap->nversions ? snap->nversions : 1); i++) {
		const char *v = snap->nversions ? snap->versions[i] : U;
		const struct expo_label l[] = {
			CONST_LBL("metrics_enabled", "true"),
			{.name = "version", .value = v, .max = CCPROXY_VERSION_MAX, .fallback = U},
		};

		u64_sample(sb, ns, "info", "", l, 2, 1);
	}
	expo__family(sb, NULL, "up", "Service is up and running", "gauge");
	u64_sample(sb, NULL, "up", "", job, 1, snap->attached ? 1 : 0);
}

static void render_pool(const struct snapshot *snap, const char *ns, struct strbuf *sb)
{
	const uint64_t *c = snap->pool.counters;
	struct strbuf scratch = STRBUF_INIT;
	struct expo_label le[1];

	render_gauge(sb, ns, "pool_clients_total", "Total number of clients in the pool",
		     snap->clients_total);
	render_gauge(sb, ns, "pool_clients_available", "Number of available clients in the pool",
		     snap->clients_available);
	render_gauge(sb, ns, "pool_clients_active",
		     "Number of active clients currently processing requests",
		     snap->clients_active);
	render_counter(sb, ns, "pool_connections_created_total",
		       "Total number of pool connections created", c[CCPROXY_POOL_CREATED]);
	render_counter(sb, ns, "pool_connections_closed_total",
		       "Total number of pool connections closed", c[CCPROXY_POOL_CLOSED]);
	render_counter(sb, ns, "pool_acquisitions_total",
		       "Total number of client acquisitions from pool",
		       c[CCPROXY_POOL_ACQUISITIONS]);
	render_counter(sb, ns, "pool_releases_total", "Total number of client releases to pool",
		       c[CCPROXY_POOL_RELEASES]);
	render_counter(sb, ns, "pool_health_check_failures_total",
		       "Total number of pool health check failures",
		       c[CCPROXY_POOL_HEALTH_FAILURES]);
	expo__family(sb, ns, "pool_acquisition_duration_seconds",
		     "Time taken to acquire a client from the pool", "histogram");
	le[0] = (struct expo_label){.name = "le"};
	histogram_series(sb, ns, "pool_acquisition_duration_seconds", le, 1, pool_bounds,
			 CCPROXY_POOL_BUCKETS, snap->pool.buckets, snap->pool.wait_sum_ns,
			 &scratch);
	strbuf__free(&scratch);
}

static const struct {
	const char *name, *help;
} lat_families[CCPROXY_LATENCIES] = {
	[CCPROXY_LAT_TTFT] = {"time_to_first_token_seconds",
			      "Time from request start to the first streamed chunk"},
	[CCPROXY_LAT_PROVIDER] = {"provider_duration_seconds",
				  "Time from sending to the provider to its last byte"},
	[CCPROXY_LAT_OVERHEAD] = {"proxy_overhead_seconds",
				  "Request time not spent waiting for the provider"},
	[CCPROXY_LAT_TPOT] = {"time_per_output_token_seconds",
			      "Streaming time per output token after the first"},
};

static uint64_t lat_count(const struct ccproxy_lat_hist *h, size_t nbounds)
{
	return bucket_total(h->buckets, nbounds);
}

static void render_lat_family(const struct snapshot *snap, const struct render_opts *o,
			      enum ccproxy_latency h, struct strbuf *sb, struct strbuf *scratch)
{
	const char *name = lat_families[h].name;
	size_t i, n, nb = o->lat_nbuckets[h];

	expo__family(sb, o->namespace_, name, lat_families[h].help, "histogram");
	for (i = 0; i < snap->nlatency; i++) {
		const struct ccproxy_usage_key *k = &snap->latency[i].key;
		const struct ccproxy_lat_hist *lh = &snap->latency[i].val.lat[h];
		bool of = k->flags & CCPROXY_KEY_OVERFLOW;
		char pid[16];
		struct expo_label l[MAX_LABELS] = {
			{.name = "le"},
			LBL("model", k->model, of),
			LBL("service_type", k->service_type, of),
		};

		if (!lat_count(lh, nb))
			continue;
		n = add_proc_labels(snap, o, k->tgid, l, 3, pid, sizeof(pid));
		histogram_series(sb, o->namespace_, name, l, n, o->lat_buckets[h], nb, lh->buckets,
				 lh->sum_ns, scratch);
	}
}

static void render_stream_counter(const struct snapshot *snap, const struct render_opts *o,
				  const char *name, const char *help, bool bytes, struct strbuf *sb)
{
	size_t i, n;

	expo__family(sb, o->namespace_, name, help, "counter");
	for (i = 0; i < snap->nlatency; i++) {
		const struct ccproxy_usage_key *k = &snap->latency[i].key;
		const struct snap_latency_val *v = &snap->latency[i].val;
		uint64_t c = bytes ? v->stream_bytes : v->stream_chunks;
		bool of = k->flags & CCPROXY_KEY_OVERFLOW;
		char pid[16];
		struct expo_label l[MAX_LABELS] = {
			LBL("model", k->model, of),
			LBL("service_type", k->service_type, of),
		};

		if (!c)
			continue;
		n = add_proc_labels(snap, o, k->tgid, l, 2, pid, sizeof(pid));
		u64_sample(sb, o->namespace_, name, "", l, n, c);
	}
}

/* A provider status as its label reads: 0 is no status, "unknown". */
static const char *provider_status(const struct ccproxy_provider_key *k, char *buf, size_t size)
{
	if (k->uk.flags & CCPROXY_KEY_OVERFLOW)
		return RENDER_OVERFLOW_LABEL;
	if (!k->status)
		return U;
	snprintf(buf, size, "%u", k->status);
	return buf;
}

static void render_provider(const struct snapshot *snap, const struct render_opts *o,
			    struct strbuf *sb)
{
	const char *ns = o->namespace_;
	size_t i, n;

	expo__family(sb, ns, "provider_responses_total", "Provider responses by HTTP status",
		     "counter");
	for (i = 0; i < snap->nprovider; i++) {
		const struct ccproxy_provider_key *k = &snap->provider[i].key;
		bool of = k->uk.flags & CCPROXY_KEY_OVERFLOW;
		char buf[16], pid[16];
		struct expo_label l[MAX_LABELS] = {
			LBL("model", k->uk.model, of),
			LBL("service_type", k->uk.service_type, of),
			CONST_LBL("status", provider_status(k, buf, sizeof(buf))),
		};

		if (!snap->provider[i].count)
			continue;
		n = add_proc_labels(snap, o, k->uk.tgid, l, 3, pid, sizeof(pid));
		u64_sample(sb, ns, "provider_responses_total", "", l, n, snap->provider[i].count);
	}
}

/* The families this exporter adds to the Python plugin's: after all of those. */
static void render_latency(const struct snapshot *snap, const struct render_opts *o,
			   struct strbuf *sb)
{
	struct strbuf scratch = STRBUF_INIT;
	int h;

	for (h = 0; h < CCPROXY_LATENCIES; h++)
		render_lat_family(snap, o, h, sb, &scratch);
	strbuf__free(&scratch);
	render_stream_counter(snap, o, "stream_chunks_total",
			      "Streamed chunks received from providers", false, sb);
	render_stream_counter(snap, o, "stream_bytes_total",
			      "Streamed bytes received from providers", true, sb);
	render_provider(snap, o, sb);
}

int render__families(const struct snapshot *snap, const struct render_opts *o, struct strbuf *sb)
{
	const char *ns = o->namespace_;
	int err;

	render_requests(snap, o, sb);
	err = render_durations(snap, o, sb);
	if (err)
		return err;
	render_tokens(snap, o, sb);
	render_cost(snap, o, sb);
	render_errors(snap, o, sb);
	render_gauge(sb, ns, "active_requests", "Number of currently active requests",
		     snap->active_requests);
	render_info_up(snap, ns, sb);
	render_pool(snap, ns, sb);
	if (o->latency)
		render_latency(snap, o, sb);
	return sb->err;
}

static void render_maps(const struct snapshot *snap, struct strbuf *sb)
{
	const char *ns = "ccproxy_exporter";
	size_t i;

	expo__family(sb, ns, "map_entries", "Entries in each BPF map.", "gauge");
	for (i = 0; i < SNAP_MAP_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("map", snap_map_names[i])};

		u64_sample(sb, ns, "map_entries", "", l, 1, snap->maps[i].entries);
	}
	expo__family(sb, ns, "map_capacity",
		     "Capacity of each BPF map, a family's overflow series included.", "gauge");
	for (i = 0; i < SNAP_MAP_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("map", snap_map_names[i])};

		u64_sample(sb, ns, "map_capacity", "", l, 1, snap->maps[i].capacity);
	}
}

static void render_progs(const struct snapshot *snap, struct strbuf *sb)
{
	const char *ns = "ccproxy_exporter";
	size_t i;

	if (!snap->prog_stats)
		return;
	expo__family(sb, ns, "bpf_program_runs_total",
		     "Runs of each BPF program (kernel.bpf_stats_enabled=1 only).", "counter");
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("program", probe_names[i])};

		u64_sample(sb, ns, "bpf_program_runs_total", "", l, 1, snap->progs[i].run_cnt);
	}
	expo__family(sb, ns, "bpf_program_run_seconds_total",
		     "Time spent in each BPF program (kernel.bpf_stats_enabled=1 only).",
		     "counter");
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("program", probe_names[i])};

		dbl_sample(sb, ns, "bpf_program_run_seconds_total", "", l, 1,
			   (double)snap->progs[i].run_time_ns / 1e9);
	}
}

int render__self(const struct snapshot *snap, double scrape_seconds, struct strbuf *sb)
{
	const char *ns = "ccproxy_exporter";
	size_t i;

	expo__family(sb, ns, "scrape_duration_seconds",
		     "Time spent reading the BPF maps and rendering this scrape.", "gauge");
	dbl_sample(sb, ns, "scrape_duration_seconds", "", NULL, 0, scrape_seconds);
	render_gauge(sb, ns, "attached_processes", "Proxy processes attached and alive.",
		     snap->attached);
	render_gauge(sb, ns, "attached_objects",
		     "Executables and shared objects whose probes are attached, for all their "
		     "processes.",
		     snap->objects);
	render_maps(snap, sb);
	expo__family(sb, ns, "events_dropped_total",
		     "Probe events, or parts of them, not recorded as sent, by reason.", "counter");
	for (i = 0; i < CCPROXY_DROP_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("reason", drop_reasons[i])};

		u64_sample(sb, ns, "events_dropped_total", "", l, 1, snap->stats.drops[i]);
	}
	expo__family(sb, ns, "probe_hits_total", "Probe hits seen by the BPF programs.", "counter");
	for (i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("probe", probe_names[i])};

		u64_sample(sb, ns, "probe_hits_total", "", l, 1, snap->stats.hits[i]);
	}
	render_progs(snap, sb);
	return sb->err;
}
